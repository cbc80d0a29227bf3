#include "store/read_model.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace capsule::store {

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; });
  return out;
}

ReadModel::ReadModel(Store& store) : store_(store) {}

ReadModel::~ReadModel() { Stop(); }

Status ReadModel::Start() {
  ASSIGN_OR_RETURN(MetaSnapshot snap, store_.ListMeta());
  ResetFrom(snap);
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void ReadModel::Stop() {
  {
    std::lock_guard<std::mutex> lock(wait_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  applied_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ReadModel::Run() {
  auto backoff = std::chrono::milliseconds(50);
  bool need_list = false;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(wait_mu_);
      if (stopping_) return;
    }
    if (need_list) {
      StatusOr<MetaSnapshot> snap = store_.ListMeta();
      if (!snap.ok()) {
        spdlog::warn("read model: list failed: {}", snap.status().ToString());
        std::unique_lock<std::mutex> lock(wait_mu_);
        stop_cv_.wait_for(lock, backoff, [this] { return stopping_; });
        backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
        continue;
      }
      ResetFrom(*snap);
      need_list = false;
    }
    // Follow the watch until it ends.
    std::mutex done_mu;
    std::condition_variable done_cv;
    bool done = false;
    Status watch_status;
    StoreWatchCallbacks cb;
    cb.on_events = [this](const std::vector<ObjectEvent>& events, int64_t rev) {
      Apply(events, rev);
    };
    cb.on_error = [&](const Status& s) {
      std::lock_guard<std::mutex> lock(done_mu);
      watch_status = s;
      done = true;
      done_cv.notify_all();
    };
    StatusOr<std::unique_ptr<etcd::Watch>> watch =
        store_.WatchObjects(applied_revision() + 1, std::move(cb));
    if (!watch.ok()) {
      spdlog::warn("read model: watch failed: {}", watch.status().ToString());
      need_list = true;
      std::unique_lock<std::mutex> lock(wait_mu_);
      stop_cv_.wait_for(lock, backoff, [this] { return stopping_; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      continue;
    }
    backoff = std::chrono::milliseconds(50);
    {
      std::unique_lock<std::mutex> lock(wait_mu_);
      while (!stopping_) {
        stop_cv_.wait_for(lock, std::chrono::milliseconds(100));
        std::lock_guard<std::mutex> dl(done_mu);
        if (done) break;
      }
    }
    watch->reset();  // cancels and joins the watch thread
    {
      std::lock_guard<std::mutex> dl(done_mu);
      if (done) {
        spdlog::info("read model: watch ended ({}), listing again", watch_status.ToString());
        need_list = true;
      }
    }
  }
}

void ReadModel::ResetFrom(const MetaSnapshot& snap) {
  {
    // One exclusive section: readers see either the old state or the new one.
    std::unique_lock<std::shared_mutex> lock(mu_);
    secrets_.clear();
    secret_names_.clear();
    nodes_.clear();
    cluster_.reset();
    for (const ObjectMeta& m : snap.objects) ApplyPut(m);
    applied_ = std::max(applied_, snap.revision);
  }
  {
    std::lock_guard<std::mutex> lock(wait_mu_);
  }
  applied_cv_.notify_all();
}

void ReadModel::Apply(const std::vector<ObjectEvent>& events, int64_t revision) {
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    for (const ObjectEvent& e : events) {
      if (e.type == ObjectEvent::Type::kDelete) {
        ApplyDelete(e.object.kind, e.object.id);
      } else {
        ApplyPut(e.object);
      }
    }
    applied_ = std::max(applied_, revision);
  }
  {
    std::lock_guard<std::mutex> lock(wait_mu_);  // pairs with WaitFor's predicate check
  }
  applied_cv_.notify_all();
}

// Called with mu_ held exclusively.
void ReadModel::ApplyPut(const ObjectMeta& m) {
  if (m.kind == kSecretsKind) {
    StatusOr<Secret> s = DecodeSecretMeta(m.meta);
    if (!s.ok()) {
      spdlog::error("read model: secret {}: {}", m.id, s.status().ToString());
      return;
    }
    auto old = secrets_.find(m.id);
    if (old != secrets_.end()) secret_names_.erase(AsciiLower(old->second->object.name));
    auto entry = std::make_shared<Versioned<Secret>>();
    entry->json = RenderSecret(*s, m.mod_revision);
    entry->object = *std::move(s);
    entry->create_revision = m.create_revision;
    entry->mod_revision = m.mod_revision;
    secret_names_[AsciiLower(entry->object.name)] = m.id;
    secrets_[m.id] = std::move(entry);
  } else if (m.kind == kNodesKind) {
    StatusOr<Node> n = DecodeNodeMeta(m.meta);
    if (!n.ok()) return;
    nodes_[m.id] = std::make_shared<Versioned<Node>>(
        Versioned<Node>{*std::move(n), m.create_revision, m.mod_revision, ""});
  } else if (m.kind == kClusterKind) {
    StatusOr<Cluster> c = DecodeClusterMeta(m.meta);
    if (!c.ok()) return;
    cluster_ = std::make_shared<Versioned<Cluster>>(
        Versioned<Cluster>{*std::move(c), m.create_revision, m.mod_revision, ""});
  }
}

void ReadModel::ApplyDelete(const std::string& kind, const std::string& id) {
  if (kind == kSecretsKind) {
    auto it = secrets_.find(id);
    if (it == secrets_.end()) return;
    secret_names_.erase(AsciiLower(it->second->object.name));
    secrets_.erase(it);
  } else if (kind == kNodesKind) {
    nodes_.erase(id);
  } else if (kind == kClusterKind) {
    if (cluster_ && cluster_->object.id == id) cluster_.reset();
  }
}

Status ReadModel::WaitFor(int64_t revision, std::chrono::milliseconds timeout) const {
  if (applied_revision() >= revision) return absl::OkStatus();
  std::unique_lock<std::mutex> lock(wait_mu_);
  bool ok = applied_cv_.wait_for(lock, timeout, [&] {
    return stopping_ || applied_revision() >= revision;
  });
  if (!ok || applied_revision() < revision) {
    return absl::UnavailableError("the store did not catch up in time");
  }
  return absl::OkStatus();
}

Status ReadModel::WaitFresh(std::chrono::milliseconds timeout) const {
  return WaitFor(store_.LastWrittenRevision(), timeout);
}

int64_t ReadModel::applied_revision() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return applied_;
}

std::vector<SecretEntry> ReadModel::Secrets() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::vector<SecretEntry> out;
  out.reserve(secrets_.size());
  for (const auto& [id, e] : secrets_) out.push_back(e);
  return out;
}

SecretEntry ReadModel::SecretById(const std::string& id) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = secrets_.find(id);
  return it == secrets_.end() ? nullptr : it->second;
}

SecretEntry ReadModel::SecretByName(const std::string& name) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = secret_names_.find(AsciiLower(name));
  if (it == secret_names_.end()) return nullptr;
  auto s = secrets_.find(it->second);
  return s == secrets_.end() ? nullptr : s->second;
}

std::vector<NodeEntry> ReadModel::Nodes() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::vector<NodeEntry> out;
  for (const auto& [id, e] : nodes_) out.push_back(e);
  return out;
}

NodeEntry ReadModel::NodeById(const std::string& id) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : it->second;
}

ClusterEntry ReadModel::GetCluster() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return cluster_;
}

}  // namespace capsule::store
