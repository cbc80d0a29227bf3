// Data-key rotation (docs/data-key-rotation.md); Capsule's own routes, never Docker's:
//   POST /capsule/swarm/rotate-data-key  begins a rotation → 200 with the state (below);
//        409 "a data key rotation is already in progress (…)" while one runs
//   GET  /capsule/swarm/data-key         the state: {"CurrentKeyID", "KeyIDs", "Rotation",
//        "LastRotation"} (manager/datakeys/rotation_state.h)
// Managers only: elsewhere Docker's answer for manager routes (backend.h); 501 where the
// manager has no data-key control (fakes).
#include "dockerapi/error_table.h"
#include "dockerapi/route_helpers.h"
#include "dockerapi/routes.h"
#include "manager/datakeys/rotation_state.h"

namespace capsule::dockerapi {
namespace {

using http::Params;
using http::Request;
using http::Response;

template <typename Fn>
Response WithDataKeys(Backend& backend, Fn fn) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  if ((*mgr)->data_keys == nullptr) {
    return ErrorResponse(absl::UnimplementedError("data key rotation is not available"));
  }
  StatusOr<datakeys::DataKeyState> state = fn(*(*mgr)->data_keys);
  if (!state.ok()) return ErrorResponse(state.status());
  return JsonResponse(200, datakeys::EncodeState(*state));
}

}  // namespace

void RegisterDataKeyRoutes(http::Router& router, Backend& backend) {
  AddRoute(router, "POST", "/capsule/swarm/rotate-data-key",
           [&backend](const Request&, const Params&) {
             return WithDataKeys(backend, [](datakeys::DataKeyRotation& d) { return d.Begin(); });
           });
  AddRoute(router, "GET", "/capsule/swarm/data-key", [&backend](const Request&, const Params&) {
    return WithDataKeys(backend, [](datakeys::DataKeyRotation& d) { return d.State(); });
  });
}

}  // namespace capsule::dockerapi
