#include "node/swarm_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "common/errno_status.h"
#include "common/file_read.h"

namespace capsule::node {

StatusOr<std::optional<SwarmState>> LoadSwarmState(const std::string& path) {
  StatusOr<std::string> text = ReadWholeFile(path);
  if (absl::IsNotFound(text.status())) return std::optional<SwarmState>();
  RETURN_IF_ERROR(text.status());
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("NodeID")) {
    return absl::DataLossError("swarm state " + path + " is malformed");
  }
  SwarmState s;
  s.node_id = j.value("NodeID", "");
  s.cluster_id = j.value("ClusterID", "");
  s.role = j.value("Role", "manager");
  s.listen_addr = j.value("ListenAddr", "");
  s.advertise_addr = j.value("AdvertiseAddr", "");
  s.swarm_port = j.value("SwarmPort", 2377);
  s.etcd_peer_port = j.value("EtcdPeerPort", 2380);
  s.remote_manager = j.value("RemoteManager", "");
  s.runs_leader_work = j.value("LeaderWork", true);
  return std::optional<SwarmState>(s);
}

Status SaveSwarmState(const std::string& path, const SwarmState& s) {
  nlohmann::json j = {{"NodeID", s.node_id},
                      {"ClusterID", s.cluster_id},
                      {"Role", s.role},
                      {"ListenAddr", s.listen_addr},
                      {"AdvertiseAddr", s.advertise_addr},
                      {"SwarmPort", s.swarm_port},
                      {"EtcdPeerPort", s.etcd_peer_port},
                      {"RemoteManager", s.remote_manager},
                      {"LeaderWork", s.runs_leader_work}};
  const std::string text = j.dump(2) + "\n";
  const std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("create", tmp, errno);
  bool ok =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  int err = errno;
  close(fd);
  if (!ok) return ErrnoStatus("write", tmp, err);
  if (rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename", tmp, errno);
  std::string dir = path.substr(0, path.find_last_of('/'));
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return absl::OkStatus();
}

Status EnsureDir(const std::string& dir, unsigned mode) {
  if (dir.empty()) return absl::InvalidArgumentError("empty directory path");
  size_t pos = 0;
  while ((pos = dir.find('/', pos + 1)) != std::string::npos) {
    std::string parent = dir.substr(0, pos);
    if (mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoStatus("mkdir", parent, errno);
    }
  }
  if (mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) return ErrnoStatus("mkdir", dir, errno);
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) return ErrnoStatus("stat", dir, errno);
  if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError(dir + " is not a directory");
  if (chmod(dir.c_str(), mode) != 0) return ErrnoStatus("chmod", dir, errno);
  return absl::OkStatus();
}

}  // namespace capsule::node
