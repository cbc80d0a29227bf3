// `capsule network create|ls|inspect|rm` — flags and arguments only; the work is in
// network_ops.
#include <memory>

#include "cli/commands.h"
#include "cli/network_ops.h"

namespace capsule::cli {

void AddNetworkCommands(CLI::App& root, CommandContext& ctx) {
  CLI::App* network = root.add_subcommand("network", "Manage networks");
  {
    struct State {
      NetworkCreateOptions options;
      std::vector<std::string> args;
    };
    auto st = std::make_shared<State>();
    CLI::App* cmd = network->add_subcommand("create", "Create a network");
    NetworkCreateOptions& o = st->options;
    cmd->add_option("-d,--driver", o.driver, "Driver to manage the Network (overlay)");
    cmd->add_flag("--attachable", o.attachable, "Enable manual container attachment");
    cmd->add_flag("--internal", o.internal, "Restrict external access to the network");
    cmd->add_flag("--ipv6", o.ipv6, "Enable IPv6 networking");
    cmd->add_option("--scope", o.scope, "Control the network's scope");
    cmd->add_option("--ipam-driver", o.ipam_driver, "IP Address Management Driver");
    AddListOption(*cmd, "--label", o.labels, "Set metadata on a network");
    AddListOption(*cmd, "-o,--opt", o.options, "Set driver specific options");
    AddListOption(*cmd, "--subnet", o.subnets, "Subnet in CIDR format");
    AddListOption(*cmd, "--gateway", o.gateways, "IPv4 Gateway for the master subnet");
    AddListOption(*cmd, "--ip-range", o.ip_ranges, "Allocate container ip from a sub-range");
    cmd->add_option("args", st->args, "NETWORK");
    cmd->callback([&ctx, st] {
      Status s = CheckArgCount({"network create", "[OPTIONS] NETWORK", "Create a network"},
                               st->args.size(), 1, 1);
      if (s.ok()) {
        st->options.name = st->args[0];
        s = NetworkCreate(ctx, st->options);
      }
      ctx.SetResult(s);
    });
  }
  {
    auto opts = std::make_shared<NetworkListOptions>();
    auto stray = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = network->add_subcommand("ls", "List networks");
    cmd->alias("list");
    cmd->add_flag("-q,--quiet", opts->quiet, "Only display network IDs");
    cmd->add_flag("--no-trunc", opts->no_trunc, "Do not truncate the output");
    AddListOption(*cmd, "-f,--filter", opts->filters,
                  "Provide filter values (e.g. 'driver=overlay')");
    cmd->add_option("--format", opts->format, "Pretty-print networks using a Go template");
    AddStrayArgs(*cmd, *stray);
    cmd->callback([&ctx, opts, stray] {
      Status s = CheckArgCount({"network ls", "[OPTIONS]", "List networks"}, stray->size(), 0, 0);
      ctx.SetResult(s.ok() ? NetworkList(ctx, *opts) : s);
    });
  }
  {
    auto names = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd =
        network->add_subcommand("inspect", "Display detailed information on one or more networks");
    cmd->add_option("names", *names, "NETWORK [NETWORK...]");
    cmd->callback([&ctx, names] {
      const CommandUsage usage{"network inspect", "[OPTIONS] NETWORK [NETWORK...]",
                               "Display detailed information on one or more networks"};
      Status s = CheckArgCount(usage, names->size(), 1, -1);
      ctx.SetResult(s.ok() ? NetworkInspect(ctx, *names) : s);
    });
  }
  {
    auto names = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = network->add_subcommand("rm", "Remove one or more networks");
    cmd->alias("remove");
    cmd->add_option("names", *names, "NETWORK [NETWORK...]");
    cmd->callback([&ctx, names] {
      const CommandUsage usage{"network rm", "NETWORK [NETWORK...]", "Remove one or more networks"};
      Status s = CheckArgCount(usage, names->size(), 1, -1);
      ctx.SetResult(s.ok() ? NetworkRemove(ctx, *names) : s);
    });
  }
}

}  // namespace capsule::cli
