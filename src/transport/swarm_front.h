// The swarm port's front: the one listening socket, and the first reader of every connection.
// It reads the client's TLS ClientHello (client_hello.h), never answering it, and routes by
// the server name asked for (tls_names.h):
//   - kJoinTlsName (a node without a certificate: join, CA fetch) → pumped by the front itself
//     through a socket pair to the join server (its gRPC server for cert-less calls), so the
//     front sees every byte such a client sends and bounds it: at most `join_inbound_bytes`
//     per connection (TLS records included; a join sends a few KiB), `join_max_age` per
//     connection, `max_join_connections` at once — more wait, unanswered, for a free slot
//     until their ClientHello deadline. gRPC 1.51 buffers a whole request before it checks
//     the size (grpc/grpc#43012), so this byte budget, not a receive limit, is what bounds
//     what a stranger can make the manager hold.
//   - anything else (kManagerTlsName, another name, none, not TLS) → handed over as it is, with
//     the bytes already read, to the authenticated server, whose TLS handshake requires a
//     certificate of the swarm. No copy: gRPC owns that socket from then on.
// Before routing: the ClientHello must arrive within `hello_timeout`, and at most
// `max_unrouted` connections may be awaiting theirs or a join slot; a connection over that cap
// closes the one that has waited longest for its ClientHello (or is itself closed when all have
// sent theirs).
//
// One thread runs the loop (epoll); the sinks are called on it and must not block. Start and
// Stop from one owner; counts() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/status.h"

namespace capsule::transport {

struct FrontLimits {
  std::chrono::milliseconds hello_timeout{std::chrono::seconds(10)};
  size_t max_unrouted = 1024;
  size_t max_join_connections = 32;  // pumped at once
  size_t join_inbound_bytes = 128 << 10;
  std::chrono::milliseconds join_max_age{std::chrono::seconds(30)};
};

// Where routed connections go. Each sink takes ownership of the descriptor it is given
// (non-blocking, close-on-exec).
struct FrontSinks {
  // A client's own socket, and the bytes the front already read from it (its ClientHello).
  std::function<void(int fd, std::string already_read)> authenticated;
  // The join server's end of a socket pair; its peer is named FrontPeerName(<client IP>)
  // (peer_addr.h). The front writes the ClientHello into the pair first.
  std::function<void(int fd)> join;
};

class SwarmFront {
 public:
  // Binds `listen_addr` ("ip:port", "[v6]:port"; port 0 picks one) and starts the loop.
  // Bind failure → Unavailable. `clock` must outlive the front.
  static StatusOr<std::unique_ptr<SwarmFront>> Start(const std::string& listen_addr,
                                                     FrontLimits limits, FrontSinks sinks,
                                                     const Clock& clock);
  ~SwarmFront();  // Stop()
  SwarmFront(const SwarmFront&) = delete;
  SwarmFront& operator=(const SwarmFront&) = delete;

  int port() const { return port_; }
  int listen_fd() const { return listen_fd_; }

  // Stops accepting and closes every connection the front still holds (those it handed to a
  // sink are the sink's). Idempotent.
  void Stop();

  struct Counts {
    uint64_t authenticated = 0;     // handed to the authenticated server
    uint64_t joins = 0;             // pumped to the join server
    uint64_t over_unrouted = 0;     // closed to keep max_unrouted (oldest silent, or the new)
    uint64_t hello_timeouts = 0;    // closed: no ClientHello (or no join slot) in time
    uint64_t join_over_budget = 0;  // join connections closed for sending too much
    uint64_t join_over_age = 0;     // join connections closed for lasting too long
  };
  Counts counts() const;

  class Loop;  // swarm_front.cc

 private:
  SwarmFront(std::unique_ptr<Loop> loop, int listen_fd, int port);
  std::unique_ptr<Loop> loop_;
  int listen_fd_;
  int port_;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
};

}  // namespace capsule::transport
