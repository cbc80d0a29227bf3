// `capsule swarm init|join|join-token|leave|update|unlock|unlock-key|ca|rotate-data-key` — flags
// only; the work is in swarm_ops (and swarm_ca_ops, data_key_ops).
#include <memory>

#include "cli/commands.h"
#include "cli/data_key_ops.h"
#include "cli/swarm_ca_ops.h"
#include "cli/swarm_ops.h"

namespace capsule::cli {
namespace {

// The address flags `swarm init` and `swarm join` share, as docker declares them.
void AddAddressFlags(CLI::App& cmd, std::string* advertise, std::string* listen,
                     std::string* data_path) {
  cmd.add_option("--advertise-addr", *advertise,
                 "Advertised address (format: <ip|interface>[:port])");
  cmd.add_option("--listen-addr", *listen, "Listen address (format: <ip|interface>[:port])")
      ->default_str("0.0.0.0:2377");
  cmd.add_option("--data-path-addr", *data_path,
                 "Address or interface to use for data path traffic");
}

}  // namespace

void AddSwarmCommands(CLI::App& root, CommandContext& ctx) {
  CLI::App* swarm = root.add_subcommand("swarm", "Manage Swarm");
  {
    auto opts = std::make_shared<SwarmInitOptions>();
    auto stray = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = swarm->add_subcommand("init", "Initialize a swarm");
    AddAddressFlags(*cmd, &opts->advertise_addr, &opts->listen_addr, &opts->data_path_addr);
    cmd->add_flag(
        "--autolock", opts->autolock,
        "Enable manager autolocking (requiring an unlock key to start a stopped manager)");
    cmd->add_flag("--force-new-cluster", opts->force_new_cluster,
                  "Force create a new cluster from current state");
    AddStrayArgs(*cmd, *stray);
    cmd->callback([&ctx, opts, stray] {
      Status s =
          CheckArgCount({"swarm init", "[OPTIONS]", "Initialize a swarm"}, stray->size(), 0, 0);
      ctx.SetResult(s.ok() ? SwarmInit(ctx, *opts) : s);
    });
  }
  {
    auto opts = std::make_shared<SwarmJoinOptions>();
    auto args = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = swarm->add_subcommand("join", "Join a swarm as a node and/or manager");
    cmd->add_option("--token", opts->token, "Token for entry into the swarm");
    AddAddressFlags(*cmd, &opts->advertise_addr, &opts->listen_addr, &opts->data_path_addr);
    cmd->add_option("--availability", opts->availability,
                    "Availability of the node (\"active\"|\"pause\"|\"drain\")")
        ->default_str("active");
    cmd->add_option("remote", *args, "HOST:PORT");
    cmd->callback([&ctx, opts, args] {
      Status s = CheckArgCount(
          {"swarm join", "[OPTIONS] HOST:PORT", "Join a swarm as a node and/or manager"},
          args->size(), 1, 1);
      if (s.ok()) opts->remote_addr = args->front();
      ctx.SetResult(s.ok() ? SwarmJoin(ctx, *opts) : s);
    });
  }
  {
    auto opts = std::make_shared<SwarmJoinTokenOptions>();
    auto args = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = swarm->add_subcommand("join-token", "Manage join tokens");
    cmd->add_flag("-q,--quiet", opts->quiet, "Only display token");
    cmd->add_flag("--rotate", opts->rotate, "Rotate join token");
    cmd->add_option("role", *args, "(worker|manager)");
    cmd->callback([&ctx, opts, args] {
      Status s =
          CheckArgCount({"swarm join-token", "[OPTIONS] (worker|manager)", "Manage join tokens"},
                        args->size(), 1, 1);
      if (s.ok()) opts->role = args->front();
      ctx.SetResult(s.ok() ? SwarmJoinToken(ctx, *opts) : s);
    });
  }
  {
    auto force = std::make_shared<bool>(false);
    auto stray = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = swarm->add_subcommand("leave", "Leave the swarm");
    cmd->add_flag("-f,--force", *force, "Force this node to leave the swarm, ignoring warnings");
    AddStrayArgs(*cmd, *stray);
    cmd->callback([&ctx, force, stray] {
      Status s =
          CheckArgCount({"swarm leave", "[OPTIONS]", "Leave the swarm"}, stray->size(), 0, 0);
      ctx.SetResult(s.ok() ? SwarmLeave(ctx, *force) : s);
    });
  }
  {
    auto autolock = std::make_shared<bool>(false);
    auto stray = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = swarm->add_subcommand("update", "Update the swarm");
    CLI::Option* flag =
        cmd->add_flag("--autolock", *autolock, "Change manager autolocking setting (true|false)");
    AddStrayArgs(*cmd, *stray);
    cmd->callback([&ctx, autolock, flag, stray] {
      Status s =
          CheckArgCount({"swarm update", "[OPTIONS]", "Update the swarm"}, stray->size(), 0, 0);
      std::optional<bool> value;
      if (flag->count() > 0) value = *autolock;
      ctx.SetResult(s.ok() ? SwarmUpdate(ctx, value) : s);
    });
  }
  {
    auto stray = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = swarm->add_subcommand("unlock", "Unlock swarm");
    AddStrayArgs(*cmd, *stray);
    cmd->callback([&ctx, stray] {
      Status s = CheckArgCount({"swarm unlock", "", "Unlock swarm"}, stray->size(), 0, 0);
      ctx.SetResult(s.ok() ? SwarmUnlock(ctx) : s);
    });
  }
  {
    auto quiet = std::make_shared<bool>(false);
    auto rotate = std::make_shared<bool>(false);
    auto stray = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = swarm->add_subcommand("unlock-key", "Manage the unlock key");
    cmd->add_flag("-q,--quiet", *quiet, "Only display token");
    cmd->add_flag("--rotate", *rotate, "Rotate unlock key");
    AddStrayArgs(*cmd, *stray);
    cmd->callback([&ctx, quiet, rotate, stray] {
      Status s = CheckArgCount({"swarm unlock-key", "[OPTIONS]", "Manage the unlock key"},
                               stray->size(), 0, 0);
      ctx.SetResult(s.ok() ? SwarmUnlockKey(ctx, *quiet, *rotate) : s);
    });
  }
  {
    auto opts = std::make_shared<SwarmCaOptions>();
    auto expiry = std::make_shared<std::string>();
    auto stray = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = swarm->add_subcommand("ca", "Display and rotate the root CA");
    cmd->add_flag("--rotate", opts->rotate,
                  "Rotate the swarm CA - if no certificate or key are provided, new ones will be "
                  "generated");
    CLI::Option* expiry_flag = cmd->add_option(
        "--cert-expiry", *expiry, "Validity period for node certificates (ns|us|ms|s|m|h)");
    cmd->add_flag("-d,--detach", opts->detach,
                  "Exit immediately instead of waiting for the root rotation to converge");
    cmd->add_flag("-q,--quiet", opts->quiet, "Suppress progress output");
    AddStrayArgs(*cmd, *stray);
    cmd->callback([&ctx, opts, expiry, expiry_flag, stray] {
      Status s = CheckArgCount({"swarm ca", "[OPTIONS]", "Display and rotate the root CA"},
                               stray->size(), 0, 0);
      if (expiry_flag->count() > 0) opts->cert_expiry = *expiry;
      ctx.SetResult(s.ok() ? SwarmCa(ctx, *opts) : s);
    });
  }
  {
    auto opts = std::make_shared<RotateDataKeyOptions>();
    auto stray = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = swarm->add_subcommand(
        "rotate-data-key",
        "Make a new data key current and re-seal every stored value under it (Capsule)");
    cmd->add_flag("-d,--detach", opts->detach,
                  "Exit once the new key is current, without waiting for the re-seal");
    AddStrayArgs(*cmd, *stray);
    cmd->callback([&ctx, opts, stray] {
      Status s = CheckArgCount({"swarm rotate-data-key", "[OPTIONS]",
                                "Make a new data key current and re-seal every stored value "
                                "under it"},
                               stray->size(), 0, 0);
      ctx.SetResult(s.ok() ? RotateDataKey(ctx, *opts) : s);
    });
  }
}

}  // namespace capsule::cli
