#include "manager/logbroker/peer_log_client.h"

#include <grpcpp/client_context.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "capsule/logbroker.grpc.pb.h"
#include "transport/grpc_status.h"

namespace capsule::logbroker {

PeerLogClient::PeerLogClient(CredentialsFn credentials, const Clock& clock,
                             PeerLogClientOptions options)
    : credentials_(std::move(credentials)), clock_(clock), options_(options) {}

Status PeerLogClient::Read(const std::string& manager_addr, const std::string& node_id,
                           const std::string& task_id, const api::LogSelector& selector,
                           const std::function<bool()>& cancelled,
                           const std::function<bool(const api::LogLine&)>& sink) const {
  ASSIGN_OR_RETURN(PeerCredentials creds, credentials_());
  auto stub = api::LogPeer::NewStub(
      transport::NodeChannel(manager_addr, creds.root_ca_pem, &creds.identity));
  grpc::ClientContext ctx;
  api::PeerLogsRequest req;
  req.set_node_id(node_id);
  req.set_task_id(task_id);
  *req.mutable_selector() = selector;

  // The watchdog: cancels the call when the reader went away or (without follow) the peer sent
  // nothing for idle_timeout. Time spent in `sink` (a slow reader) is not idleness.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  bool in_sink = false;
  bool idle = false;
  SteadyTime last = clock_.SteadyNow();
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mu);
    while (!clock_.WaitFor(cv, lock, options_.poll_period, [&] { return done; })) {
      const bool gone = cancelled && cancelled();
      idle = !selector.follow() && !in_sink && clock_.SteadyNow() - last >= options_.idle_timeout;
      if (gone || idle) {
        ctx.TryCancel();
        return;
      }
    }
  });

  std::unique_ptr<grpc::ClientReader<api::LogLine>> reader = stub->SubscribeForPeer(&ctx, req);
  api::LogLine line;
  bool wanted = true;
  while (wanted && reader->Read(&line)) {
    {
      std::lock_guard<std::mutex> lock(mu);
      in_sink = true;
    }
    wanted = sink(line);
    std::lock_guard<std::mutex> lock(mu);
    in_sink = false;
    last = clock_.SteadyNow();
  }
  if (!wanted) ctx.TryCancel();
  const grpc::Status status = reader->Finish();
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  cv.notify_all();
  watchdog.join();
  if (!wanted || (cancelled && cancelled())) return absl::OkStatus();
  if (idle) {
    return absl::DeadlineExceededError("manager " + manager_addr + " sent no logs for task " +
                                       task_id);
  }
  return transport::FromGrpcStatus(status);
}

}  // namespace capsule::logbroker
