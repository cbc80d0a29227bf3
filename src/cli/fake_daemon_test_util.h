// Test double for capsuled: a real HTTP/1.1 server on a temporary unix socket (Boost.Beast,
// one thread, one connection at a time) that answers canned responses per (method, path)
// and records every request. Paths are matched without the "/v1.41" prefix and without
// the query string. Unknown routes → 404 {"message":"page not found"}.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "testing/fake_clock.h"

namespace capsule::cli::testing {

struct RecordedRequest {
  std::string method;
  std::string target;                          // as sent, e.g. "/v1.41/secrets?filters=%7B..."
  std::string path;                            // without version prefix and query: "/secrets"
  std::map<std::string, std::string> query;    // decoded
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct CannedResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

class FakeDaemon {
 public:
  FakeDaemon();
  ~FakeDaemon();
  FakeDaemon(const FakeDaemon&) = delete;
  FakeDaemon& operator=(const FakeDaemon&) = delete;

  std::string url() const { return "unix://" + socket_path_; }
  const std::string& socket_path() const { return socket_path_; }

  void On(const std::string& method, const std::string& path, CannedResponse response);
  // Answers successive requests with successive responses; the last one repeats.
  void OnSequence(const std::string& method, const std::string& path,
                  std::vector<CannedResponse> responses);
  std::vector<RecordedRequest> requests() const;

 private:
  void Serve();

  std::string dir_;
  std::string socket_path_;
  int listen_fd_ = -1;
  std::thread thread_;
  mutable std::mutex mu_;
  bool stopping_ = false;
  struct Route {
    std::vector<CannedResponse> responses;
    size_t next = 0;
  };
  std::map<std::string, Route> routes_;  // "GET /secrets"
  std::vector<RecordedRequest> requests_;
};

// Percent-decoding as Go's url.QueryUnescape ('+' → ' ').
std::string QueryUnescape(const std::string& s);

// Runs the CLI in-process against `daemon` (via -H) with the given stdin.
struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};
CliResult RunAgainst(const FakeDaemon& daemon, std::vector<std::string> args,
                     const std::string& stdin_data = "", const Clock* clock = nullptr);

// As RunAgainst, with `clock` advanced by every sleep of the CLI (no real waiting).
CliResult RunWithClock(const FakeDaemon& daemon, std::vector<std::string> args,
                       ::capsule::testing::FakeClock& clock);

}  // namespace capsule::cli::testing
