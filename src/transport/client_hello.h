// The server name (SNI) a TLS client asks for, read from its ClientHello before any TLS is
// spoken back: how the swarm port's front (swarm_front.h) tells a joining node's connection
// from a node's authenticated one without terminating TLS.
//
// Only what a well-behaved client sends is understood: the ClientHello whole in the first TLS
// record (every TLS library sends it so; gRPC's is under 1 KiB). Anything else — not TLS, a
// ClientHello split across records, a malformed one, one without the server_name extension —
// is "no SNI", and the front then treats the connection as an authenticated one, whose TLS
// handshake demands a certificate of the swarm.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace capsule::transport {

// The most bytes a client must send before its ClientHello can be judged: one TLS record.
inline constexpr size_t kMaxClientHelloBytes = 5 + 16384;

struct ClientHelloSni {
  enum class State {
    kNeedMore,  // a prefix of a possible ClientHello: read more (up to kMaxClientHelloBytes)
    kDone,      // judged: `server_name` is the host name asked for, or empty (no SNI)
  };
  State state = State::kNeedMore;
  std::string server_name;
};

// Judges the first bytes a client sent. Pure; never reads past `bytes`.
ClientHelloSni ParseClientHelloSni(std::string_view bytes);

}  // namespace capsule::transport
