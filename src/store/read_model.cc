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

template <typename T>
void ReadModel::NamedIndex<T>::Clear() {
  by_id.clear();
  names.clear();
}

template <typename T>
void ReadModel::NamedIndex<T>::Put(std::shared_ptr<Versioned<T>> entry) {
  Erase(entry->object.id);
  names[AsciiLower(entry->object.name)] = entry->object.id;
  by_id[entry->object.id] = std::move(entry);
}

template <typename T>
void ReadModel::NamedIndex<T>::Erase(const std::string& id) {
  auto it = by_id.find(id);
  if (it == by_id.end()) return;
  names.erase(AsciiLower(it->second->object.name));
  by_id.erase(it);
}

template <typename T>
std::vector<std::shared_ptr<const Versioned<T>>> ReadModel::NamedIndex<T>::All() const {
  std::vector<std::shared_ptr<const Versioned<T>>> out;
  out.reserve(by_id.size());
  for (const auto& [id, e] : by_id) out.push_back(e);
  return out;
}

template <typename T>
std::shared_ptr<const Versioned<T>> ReadModel::NamedIndex<T>::ById(const std::string& id) const {
  auto it = by_id.find(id);
  return it == by_id.end() ? nullptr : it->second;
}

template <typename T>
std::shared_ptr<const Versioned<T>> ReadModel::NamedIndex<T>::ByName(
    const std::string& name) const {
  auto it = names.find(AsciiLower(name));
  return it == names.end() ? nullptr : ById(it->second);
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
    StatusOr<std::unique_ptr<WatchHandle>> watch =
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
    secrets_.Clear();
    configs_.Clear();
    nodes_.clear();
    cluster_.reset();
    services_.clear();
    service_names_.clear();
    tasks_.clear();
    tasks_by_service_.clear();
    tasks_by_node_.clear();
    networks_.clear();
    network_names_.clear();
    for (const ObjectMeta& m : snap.objects) ApplyPut(m);
    applied_ = std::max(applied_, snap.revision);
  }
  { std::lock_guard<std::mutex> lock(wait_mu_); }
  applied_cv_.notify_all();
  Notify(applied_revision());
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
  Notify(applied_revision());
}

void ReadModel::Notify(int64_t revision) {
  std::lock_guard<std::mutex> lock(subs_mu_);
  for (const auto& [id, fn] : subs_) fn(revision);
}

ReadModel::SubscriptionId ReadModel::Subscribe(std::function<void(int64_t revision)> fn) {
  std::lock_guard<std::mutex> lock(subs_mu_);
  SubscriptionId id = next_sub_++;
  subs_.emplace(id, std::move(fn));
  return id;
}

void ReadModel::Unsubscribe(SubscriptionId id) {
  std::lock_guard<std::mutex> lock(subs_mu_);  // waits for a callback that is running
  subs_.erase(id);
}

// Called with mu_ held exclusively.
void ReadModel::ApplyPut(const ObjectMeta& m) {
  if (m.kind == kSecretsKind) {
    StatusOr<Secret> s = DecodeSecretMeta(m.meta);
    if (!s.ok()) {
      spdlog::error("read model: secret {}: {}", m.id, s.status().ToString());
      return;
    }
    auto entry = std::make_shared<Versioned<Secret>>();
    entry->json = RenderSecret(*s, m.mod_revision);
    entry->object = *std::move(s);
    entry->create_revision = m.create_revision;
    entry->mod_revision = m.mod_revision;
    secrets_.Put(std::move(entry));
  } else if (m.kind == kConfigsKind) {
    StatusOr<Config> c = DecodeConfigMeta(m.meta);
    if (!c.ok()) {
      spdlog::error("read model: config {}: {}", m.id, c.status().ToString());
      return;
    }
    configs_.Put(std::make_shared<Versioned<Config>>(
        Versioned<Config>{*std::move(c), m.create_revision, m.mod_revision, ""}));
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
  } else if (m.kind == kServicesKind) {
    PutService(m);
  } else if (m.kind == kTasksKind) {
    PutTask(m);
  } else if (m.kind == kNetworksKind) {
    PutNetwork(m);
  }
}

// Called with mu_ held exclusively.
void ReadModel::PutService(const ObjectMeta& m) {
  StatusOr<Service> s = DecodeServiceMeta(m.meta);
  if (!s.ok()) {
    spdlog::error("read model: service {}: {}", m.id, s.status().ToString());
    return;
  }
  auto old = services_.find(m.id);
  if (old != services_.end()) service_names_.erase(AsciiLower(old->second->object.spec.name));
  auto entry = std::make_shared<Versioned<Service>>();
  if (s->spec_version == 0) s->spec_version = m.mod_revision;  // "this write" (service.h)
  entry->json = ServiceJson(*s, m.mod_revision).dump();
  entry->object = *std::move(s);
  entry->create_revision = m.create_revision;
  entry->mod_revision = m.mod_revision;
  service_names_[AsciiLower(entry->object.spec.name)] = m.id;
  services_[m.id] = std::move(entry);
}

// Called with mu_ held exclusively.
void ReadModel::PutTask(const ObjectMeta& m) {
  StatusOr<Task> t = DecodeTaskMeta(m.meta);
  if (!t.ok()) {
    spdlog::error("read model: task {}: {}", m.id, t.status().ToString());
    return;
  }
  EraseTask(m.id);
  auto entry = std::make_shared<Versioned<Task>>();
  entry->json = TaskJson(*t, m.mod_revision).dump();
  entry->object = *std::move(t);
  entry->create_revision = m.create_revision;
  entry->mod_revision = m.mod_revision;
  tasks_by_service_[entry->object.service_id][m.id] = entry;
  if (!entry->object.node_id.empty()) tasks_by_node_[entry->object.node_id][m.id] = entry;
  tasks_[m.id] = std::move(entry);
}

// Called with mu_ held exclusively: removes a task and its index entries.
void ReadModel::EraseTask(const std::string& id) {
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return;
  const Task& t = it->second->object;
  auto unindex = [&id](auto& index, const std::string& key) {
    auto i = index.find(key);
    if (i == index.end()) return;
    i->second.erase(id);
    if (i->second.empty()) index.erase(i);
  };
  unindex(tasks_by_service_, t.service_id);
  if (!t.node_id.empty()) unindex(tasks_by_node_, t.node_id);
  tasks_.erase(it);
}

void ReadModel::ApplyDelete(const std::string& kind, const std::string& id) {
  if (kind == kSecretsKind) {
    secrets_.Erase(id);
  } else if (kind == kConfigsKind) {
    configs_.Erase(id);
  } else if (kind == kNodesKind) {
    nodes_.erase(id);
  } else if (kind == kClusterKind) {
    if (cluster_ && cluster_->object.id == id) cluster_.reset();
  } else if (kind == kServicesKind) {
    auto it = services_.find(id);
    if (it == services_.end()) return;
    service_names_.erase(AsciiLower(it->second->object.spec.name));
    services_.erase(it);
  } else if (kind == kTasksKind) {
    EraseTask(id);
  } else if (kind == kNetworksKind) {
    EraseNetwork(id);
  }
}

Status ReadModel::WaitFor(int64_t revision, std::chrono::milliseconds timeout) const {
  if (applied_revision() >= revision) return absl::OkStatus();
  std::unique_lock<std::mutex> lock(wait_mu_);
  bool ok = applied_cv_.wait_for(lock, timeout,
                                 [&] { return stopping_ || applied_revision() >= revision; });
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
  return secrets_.All();
}

SecretEntry ReadModel::SecretById(const std::string& id) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return secrets_.ById(id);
}

SecretEntry ReadModel::SecretByName(const std::string& name) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return secrets_.ByName(name);
}

std::vector<ConfigEntry> ReadModel::Configs() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return configs_.All();
}

ConfigEntry ReadModel::ConfigById(const std::string& id) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return configs_.ById(id);
}

ConfigEntry ReadModel::ConfigByName(const std::string& name) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return configs_.ByName(name);
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

std::vector<ServiceEntry> ReadModel::Services() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::vector<ServiceEntry> out;
  out.reserve(services_.size());
  for (const auto& [id, e] : services_) out.push_back(e);
  return out;
}

ServiceEntry ReadModel::ServiceById(const std::string& id) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = services_.find(id);
  return it == services_.end() ? nullptr : it->second;
}

ServiceEntry ReadModel::ServiceByName(const std::string& name) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = service_names_.find(AsciiLower(name));
  if (it == service_names_.end()) return nullptr;
  auto s = services_.find(it->second);
  return s == services_.end() ? nullptr : s->second;
}

std::vector<TaskEntry> ReadModel::Tasks() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::vector<TaskEntry> out;
  out.reserve(tasks_.size());
  for (const auto& [id, e] : tasks_) out.push_back(e);
  return out;
}

TaskEntry ReadModel::TaskById(const std::string& id) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = tasks_.find(id);
  return it == tasks_.end() ? nullptr : it->second;
}

std::vector<TaskEntry> ReadModel::TasksOfService(const std::string& service_id) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::vector<TaskEntry> out;
  auto it = tasks_by_service_.find(service_id);
  if (it == tasks_by_service_.end()) return out;
  out.reserve(it->second.size());
  for (const auto& [id, e] : it->second) out.push_back(e);
  return out;
}

std::vector<TaskEntry> ReadModel::TasksOnNode(const std::string& node_id) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::vector<TaskEntry> out;
  auto it = tasks_by_node_.find(node_id);
  if (it == tasks_by_node_.end()) return out;
  out.reserve(it->second.size());
  for (const auto& [id, e] : it->second) out.push_back(e);
  return out;
}

}  // namespace capsule::store
