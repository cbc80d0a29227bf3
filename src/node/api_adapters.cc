#include "node/api_adapters.h"

#include "agent/images/image_config.h"
#include "agent/registry/distribution_inspect.h"
#include "agent/registry/pull_reference.h"
#include "agent/registry/registry_auth.h"

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
  d.repo_digests = i.repo_digests;
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
  ApiImages(agent::ImageStore& store, agent::registry::Puller* puller,
            const agent::registry::DistributionResolver* resolver)
      : store_(store), puller_(puller), resolver_(resolver) {}

  StatusOr<dockerapi::ImageDetails> Pull(
      const std::string& image, const std::string& tag, const std::string& registry_auth,
      const std::function<bool(const std::string&)>& progress) override {
    if (puller_ == nullptr) {
      return dockerapi::NodeImages::Pull(image, tag, registry_auth, progress);
    }
    ASSIGN_OR_RETURN(agent::registry::PullReference ref,
                     agent::registry::ParsePullReference(image, tag));
    // Docker ignores an X-Registry-Auth header it cannot decode (an anonymous pull).
    StatusOr<agent::registry::RegistryAuth> auth =
        agent::registry::DecodeRegistryAuthHeader(registry_auth);
    if (!auth.ok()) auth = agent::registry::RegistryAuth{};
    StatusOr<agent::ImageInfo> info = puller_->Pull(ref, *auth, progress);
    // Docker's daemon answers a pull the registry refused with 500, not 401: a 401 would
    // make the CLI start an interactive login ("Please login prior to pull").
    if (absl::IsUnauthenticated(info.status()) || absl::IsPermissionDenied(info.status())) {
      return absl::UnknownError(info.status().message());
    }
    RETURN_IF_ERROR(info.status());
    return DetailsOf(*info);
  }

  Status Login(const std::string& auth_config_json) override {
    if (puller_ == nullptr) return dockerapi::NodeImages::Login(auth_config_json);
    ASSIGN_OR_RETURN(agent::registry::RegistryAuth auth,
                     agent::registry::ParseAuthConfig(auth_config_json));
    return puller_->Login(auth.server_address, auth);
  }

  StatusOr<dockerapi::DistributionDetails> Distribution(const std::string& name,
                                                        const std::string& registry_auth) override {
    if (resolver_ == nullptr) return dockerapi::NodeImages::Distribution(name, registry_auth);
    // As a pull: Docker ignores an X-Registry-Auth header it cannot decode.
    StatusOr<agent::registry::RegistryAuth> auth =
        agent::registry::DecodeRegistryAuthHeader(registry_auth);
    if (!auth.ok()) auth = agent::registry::RegistryAuth{};
    ASSIGN_OR_RETURN(agent::registry::DistributionInfo info, resolver_->Resolve(name, *auth));
    dockerapi::DistributionDetails d;
    d.resolved = info.resolved;
    d.media_type = info.media_type;
    d.digest = info.digest;
    d.size = info.size;
    for (const agent::registry::DistributionPlatform& p : info.platforms) {
      d.platforms.push_back({p.architecture, p.os, p.os_version, p.variant, p.os_features});
    }
    return d;
  }

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
  agent::registry::Puller* const puller_;                        // null: pulls are refused
  const agent::registry::DistributionResolver* const resolver_;  // null: nothing is resolved
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
  explicit ApiRemoteLogs(std::unique_ptr<logbroker::RoutedLogReader> reader)
      : reader_(std::move(reader)) {}

  Status Read(const std::string& node_id, const std::string& task_id,
              const dockerapi::LogQuery& query,
              const std::function<bool(const dockerapi::LogLine&)>& sink) const override {
    const api::LogSelector selector = logbroker::MakeSelector(
        query.stdout_lines, query.stderr_lines, query.follow, query.tail, query.since);
    return reader_->Read(node_id, task_id, selector, query.cancelled,
                         [&sink](const api::LogLine& l) {
                           return sink(dockerapi::LogLine{FromUnixNanos(l.time_unix_nanos()),
                                                          l.stream() == 2 ? 2 : 1, l.data()});
                         });
  }

 private:
  const std::unique_ptr<logbroker::RoutedLogReader> reader_;
};

}  // namespace

std::unique_ptr<dockerapi::RemoteTaskLogSource> NewApiRemoteLogs(
    std::unique_ptr<logbroker::RoutedLogReader> reader) {
  return std::make_unique<ApiRemoteLogs>(std::move(reader));
}

std::unique_ptr<dockerapi::NodeImages> NewApiImages(
    agent::ImageStore& store, agent::registry::Puller* puller,
    const agent::registry::DistributionResolver* resolver) {
  return std::make_unique<ApiImages>(store, puller, resolver);
}

std::unique_ptr<dockerapi::TaskLogSource> NewApiTaskLogs(const agent::TaskLogs& logs) {
  return std::make_unique<ApiTaskLogs>(logs);
}

}  // namespace capsule::node
