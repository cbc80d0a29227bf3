#include "cli/data_key_ops.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/daemon_error.h"
#include "manager/datakeys/rotation_state.h"

namespace capsule::cli {
namespace {

using datakeys::DataKeyState;
using datakeys::ResealProgress;

StatusOr<DataKeyState> Call(CommandContext& ctx, const char* method, const std::string& path) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ASSIGN_OR_RETURN(HttpResponse response, cli::Call(*client, {method, path, {}, "", ""}));
  return datakeys::DecodeState(response.body);
}

std::string Keys(const std::vector<uint32_t>& ids) {
  return ids.empty() ? "-" : absl::StrJoin(ids, ", ");
}

// One line of progress: "Re-sealing: 120/340 values", or the phase when past the re-seal.
std::string ProgressLine(const ResealProgress& p) {
  if (p.phase == "starting") return "Waiting for the leader to start the re-seal";
  if (p.phase == "resealing") {
    return absl::StrCat("Re-sealing: ", std::min(p.visited, std::max(p.total, p.visited)), "/",
                        std::max(p.total, p.visited), " values");
  }
  if (p.phase == "waiting-for-managers") {
    return absl::StrCat("Re-sealed ", p.resealed,
                        " values; waiting for every manager to load the new key",
                        p.waiting_for.empty() ? "" : " (" + p.waiting_for + ")");
  }
  if (p.phase == "verifying") return "Verifying that no value uses the old key";
  return p.phase;
}

}  // namespace

Status RotateDataKey(CommandContext& ctx, const RotateDataKeyOptions& options) {
  ASSIGN_OR_RETURN(DataKeyState s, Call(ctx, "POST", "/capsule/swarm/rotate-data-key"));
  const uint32_t target = s.current;
  std::vector<uint32_t> retiring;
  if (s.rotation) retiring = s.rotation->retiring;
  ctx.out() << "Data key " << target << " is now current; re-sealing every stored value under it"
            << " (retiring key " << Keys(retiring) << ").\n";
  if (options.detach) {
    ctx.out() << "Run '" << kProgramName << " info' to follow the re-seal.\n";
    return absl::OkStatus();
  }
  std::string last;
  while (true) {
    ASSIGN_OR_RETURN(s, Call(ctx, "GET", "/capsule/swarm/data-key"));
    if (!s.rotation) break;
    if (s.rotation->target != target) {
      return absl::AbortedError(absl::StrCat("another rotation (to data key ", s.rotation->target,
                                             ") replaced this one"));
    }
    const std::string line = ProgressLine(*s.rotation);
    if (line != last) {
      ctx.out() << line << "\n" << std::flush;
      last = line;
    }
    ctx.Sleep(options.poll);
  }
  int64_t resealed = s.last && s.last->target == target ? s.last->resealed : 0;
  ctx.out() << "Data key rotation done: key " << s.current << " is current, key " << Keys(retiring)
            << " destroyed (" << resealed << " values re-sealed).\n";
  return absl::OkStatus();
}

std::string DataKeyInfoLines(CommandContext& ctx) {
  StatusOr<DataKeyState> s = Call(ctx, "GET", "/capsule/swarm/data-key");
  if (!s.ok()) return "";
  std::string out = absl::StrCat("  Data Key: ", s->current, "\n  Data Key Rotation: ");
  if (!s->rotation) return out + "none\n";
  const ResealProgress& p = *s->rotation;
  absl::StrAppend(&out, p.phase, " ", p.visited, "/", std::max(p.total, p.visited), " values (key ",
                  Keys(p.retiring), " → ", p.target, ")");
  if (!p.waiting_for.empty()) absl::StrAppend(&out, " waiting for ", p.waiting_for);
  return out + "\n";
}

}  // namespace capsule::cli
