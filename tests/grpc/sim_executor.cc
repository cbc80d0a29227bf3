#include "sim_executor.h"

#include <openssl/evp.h>

#include <cstdio>

namespace capsule::loadsim {
namespace {

std::string Sha256Prefix(const SecretBytes& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const std::string_view v = data.view();
  if (EVP_Digest(v.data(), v.size(), md, &len, EVP_sha256(), nullptr) != 1) return "error";
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 8 && i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

// IDs are [a-z0-9]; anything else is dropped so the line stays valid JSON.
std::string Plain(const std::string& s) {
  std::string out;
  for (char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.')
      out.push_back(c);
  }
  return out;
}

}  // namespace

void EventSink::Emit(int node, const std::string& event, const std::string& fields) {
  const long long ms = ToUnixNanos(clock_.Now()) / 1000000;
  std::lock_guard<std::mutex> lock(mu_);
  std::printf("{\"node\":%d,\"event\":\"%s\",%s%s\"t_ms\":%lld}\n", node, event.c_str(),
              fields.c_str(), fields.empty() ? "" : ",", ms);
  std::fflush(stdout);
}

std::unique_ptr<testing::FakeExecutor> NewSimExecutor(int node, EventSink& events,
                                                      const Clock& clock) {
  testing::FakeExecutor::Hooks hooks;
  hooks.prepared = [node, &events](const agent::TaskRun& run) {
    for (const agent::SecretFile& f : run.secrets) {
      if (f.data == nullptr) continue;
      events.Emit(node, "secret",
                  "\"id\":\"" + Plain(f.secret_id) + "\",\"task\":\"" + Plain(run.task_id) +
                      "\",\"service\":\"" + Plain(run.service_name) + "\",\"sha\":\"" +
                      Sha256Prefix(*f.data) + "\"");
    }
  };
  hooks.refreshed = [node, &events](const std::string& task_id, const agent::SecretFile& f,
                                    int signal) {
    events.Emit(node, "refresh",
                "\"id\":\"" + Plain(f.secret_id) + "\",\"task\":\"" + Plain(task_id) +
                    "\",\"sha\":\"" + Sha256Prefix(*f.data) +
                    "\",\"signal\":" + std::to_string(signal));
  };
  hooks.started = [node, &events](const std::string& task_id) {
    events.Emit(node, "start", "\"task\":\"" + Plain(task_id) + "\"");
  };
  return std::make_unique<testing::FakeExecutor>(clock, std::move(hooks));
}

}  // namespace capsule::loadsim
