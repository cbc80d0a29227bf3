// NewTaskLogs: reads the JSON-lines logs the shim writes (log_codec.h, layout.h).
#include "agent/executor/task_logs.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <deque>

#include "absl/strings/str_cat.h"
#include "agent/executor/fs_util.h"
#include "agent/executor/layout.h"
#include "agent/executor/log_codec.h"
#include "common/errno_status.h"

namespace capsule::agent {
namespace {

constexpr int kFollowPollMs = 250;

// Reads complete records from fd, keeping a partial last one in `pending` for the next call.
class RecordReader {
 public:
  RecordReader(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  // Calls on_record for each complete record now available. Returns false when on_record
  // asked to stop.
  StatusOr<bool> ReadAvailable(const std::function<bool(const std::string&)>& on_record) {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof(buf));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("read", path_, errno);
      }
      if (n == 0) return true;
      pending_.append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1) {
        if (!on_record(pending_.substr(start, nl - start))) {
          pending_.erase(0, nl + 1);
          return false;
        }
      }
      pending_.erase(0, start);
    }
  }

 private:
  int fd_;
  std::string path_;
  std::string pending_;
};

class FileTaskLogs : public TaskLogs {
 public:
  explicit FileTaskLogs(std::string data_root) : data_root_(std::move(data_root)) {}

  Status Read(const std::string& task_id, const LogQuery& query,
              const std::function<bool(const LogLine&)>& sink) const override {
    if (!ValidateTaskId(task_id).ok()) {
      return absl::NotFoundError(absl::StrCat("no logs for task ", task_id));
    }
    const std::string path = LogFileFor(data_root_, task_id);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) {
      if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no logs for task ", task_id));
      return ErrnoStatus("open", path, errno);
    }
    auto selected = [&query](const LogLine& line) {
      if (line.time < query.since) return false;
      return line.stream == 2 ? query.stderr_lines : query.stdout_lines;
    };
    RecordReader reader(fd.get(), path);

    // What is there now, of which the last `tail` lines.
    std::deque<LogLine> kept;
    bool go_on = true;
    ASSIGN_OR_RETURN(bool more, reader.ReadAvailable([&](const std::string& record) {
      StatusOr<LogLine> line = DecodeLogLine(record);
      if (!line.ok() || !selected(*line)) return true;  // a torn record is skipped
      if (query.tail.has_value()) {
        if (*query.tail == 0) return true;
        kept.push_back(std::move(*line));
        if (kept.size() > *query.tail) kept.pop_front();
        return true;
      }
      go_on = sink(*line);
      return go_on;
    }));
    (void)more;
    for (const LogLine& line : kept) {
      if (!go_on) break;
      go_on = sink(line);
    }
    if (!go_on || !query.follow) return absl::OkStatus();

    // Then what arrives until the shim lets go of its lock on the file.
    UniqueFd watch(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (watch.valid()) ::inotify_add_watch(watch.get(), path.c_str(), IN_MODIFY | IN_CLOSE_WRITE);
    auto deliver = [&](const std::string& record) {
      StatusOr<LogLine> line = DecodeLogLine(record);
      if (!line.ok() || !selected(*line)) return true;
      return sink(*line);
    };
    for (;;) {
      // Checked before reading, so nothing written before the lock went is missed.
      const bool writer_gone = ::flock(fd.get(), LOCK_SH | LOCK_NB) == 0;
      ASSIGN_OR_RETURN(bool keep_going, reader.ReadAvailable(deliver));
      if (!keep_going || writer_gone) return absl::OkStatus();
      if (query.cancelled && query.cancelled()) return absl::OkStatus();
      struct pollfd pfd = {watch.valid() ? watch.get() : -1, POLLIN, 0};
      if (::poll(&pfd, 1, kFollowPollMs) > 0) {
        char buf[4096];
        while (::read(watch.get(), buf, sizeof(buf)) > 0) {
        }
      }
    }
  }

 private:
  const std::string data_root_;
};

}  // namespace

std::unique_ptr<TaskLogs> NewTaskLogs(const std::string& data_root) {
  return std::make_unique<FileTaskLogs>(data_root);
}

}  // namespace capsule::agent
