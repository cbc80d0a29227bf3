#include "node/api_adapters.h"

#include "agent/images/image_config.h"

namespace capsule::node {
namespace {

dockerapi::ImageDetails DetailsOf(const agent::ImageInfo& i) {
  dockerapi::ImageDetails d;
  d.id = i.id;
  d.repo_tags = i.repo_tags;
  d.created = i.created;
  d.size = i.size;
  d.labels = i.config.labels;
  d.comment = i.comment;
  d.layers = i.layers;
  d.config = agent::ContainerConfigJson(i.config);
  // Imported and loaded images were not made from a container: an empty config.
  d.container_config = agent::ContainerConfigJson(agent::ImageConfig{});
  return d;
}

std::vector<dockerapi::ImageDetails> DetailsOf(const std::vector<agent::ImageInfo>& images) {
  std::vector<dockerapi::ImageDetails> out;
  out.reserve(images.size());
  for (const agent::ImageInfo& i : images) out.push_back(DetailsOf(i));
  return out;
}

class ApiImages : public dockerapi::NodeImages {
 public:
  explicit ApiImages(agent::ImageStore& store) : store_(store) {}

  StatusOr<dockerapi::ImageDetails> Import(dockerapi::ChunkSource tar, const std::string& reference,
                                           const std::vector<std::string>& changes,
                                           const std::string& message) override {
    ASSIGN_OR_RETURN(agent::ImageInfo info,
                     store_.ImportWithMessage(std::move(tar), reference, changes, message));
    return DetailsOf(info);
  }
  StatusOr<std::vector<dockerapi::ImageDetails>> Load(dockerapi::ChunkSource tar) override {
    ASSIGN_OR_RETURN(std::vector<agent::ImageInfo> loaded, store_.Load(std::move(tar)));
    return DetailsOf(loaded);
  }
  std::vector<dockerapi::ImageDetails> List() const override { return DetailsOf(store_.List()); }
  StatusOr<dockerapi::ImageDetails> Inspect(const std::string& ref) const override {
    ASSIGN_OR_RETURN(agent::ImageInfo info, store_.Inspect(ref));
    return DetailsOf(info);
  }
  StatusOr<std::vector<std::pair<std::string, std::string>>> Remove(const std::string& ref,
                                                                    bool force) override {
    return store_.Remove(ref, force);
  }

 private:
  agent::ImageStore& store_;
};

class ApiTaskLogs : public dockerapi::TaskLogSource {
 public:
  explicit ApiTaskLogs(const agent::TaskLogs& logs) : logs_(logs) {}

  Status Read(const std::string& task_id, const dockerapi::LogQuery& query,
              const std::function<bool(const dockerapi::LogLine&)>& sink) const override {
    agent::LogQuery q;
    q.stdout_lines = query.stdout_lines;
    q.stderr_lines = query.stderr_lines;
    q.tail = query.tail;
    q.since = query.since;
    q.follow = query.follow;
    q.cancelled = query.cancelled;
    return logs_.Read(task_id, q, [&sink](const agent::LogLine& line) {
      return sink(dockerapi::LogLine{line.time, line.stream, line.text});
    });
  }

 private:
  const agent::TaskLogs& logs_;
};

class ApiRemoteLogs : public dockerapi::RemoteTaskLogSource {
 public:
  explicit ApiRemoteLogs(logbroker::LogBroker& broker) : broker_(broker) {}

  Status Read(const std::string& node_id, const std::string& task_id,
              const dockerapi::LogQuery& query,
              const std::function<bool(const dockerapi::LogLine&)>& sink) const override {
    const api::LogSelector selector = logbroker::MakeSelector(
        query.stdout_lines, query.stderr_lines, query.follow, query.tail, query.since);
    return broker_.Read(node_id, task_id, selector, query.cancelled,
                        [&sink](const api::LogLine& l) {
                          return sink(dockerapi::LogLine{FromUnixNanos(l.time_unix_nanos()),
                                                         l.stream() == 2 ? 2 : 1, l.data()});
                        });
  }

 private:
  logbroker::LogBroker& broker_;
};

}  // namespace

std::unique_ptr<dockerapi::RemoteTaskLogSource> NewApiRemoteLogs(logbroker::LogBroker& broker) {
  return std::make_unique<ApiRemoteLogs>(broker);
}

std::unique_ptr<dockerapi::NodeImages> NewApiImages(agent::ImageStore& store) {
  return std::make_unique<ApiImages>(store);
}

std::unique_ptr<dockerapi::TaskLogSource> NewApiTaskLogs(const agent::TaskLogs& logs) {
  return std::make_unique<ApiTaskLogs>(logs);
}

}  // namespace capsule::node
