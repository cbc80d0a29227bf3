// `capsule node ls|inspect|update|promote|demote|rm` — flags only; the work is in node_ops.
#include <memory>
#include <string>
#include <tuple>

#include "cli/commands.h"
#include "cli/node_ops.h"

namespace capsule::cli {

void AddNodeCommands(CLI::App& root, CommandContext& ctx) {
  CLI::App* node = root.add_subcommand("node", "Manage Swarm nodes");
  {
    auto opts = std::make_shared<NodeListOptions>();
    auto stray = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = node->add_subcommand("ls", "List nodes in the swarm");
    cmd->alias("list");
    cmd->add_flag("-q,--quiet", opts->quiet, "Only display IDs");
    AddListOption(*cmd, "-f,--filter", opts->filters, "Filter output based on conditions provided");
    cmd->add_option("--format", opts->format, "Pretty-print nodes using a Go template");
    AddStrayArgs(*cmd, *stray);
    cmd->callback([&ctx, opts, stray] {
      Status s =
          CheckArgCount({"node ls", "[OPTIONS]", "List nodes in the swarm"}, stray->size(), 0, 0);
      ctx.SetResult(s.ok() ? NodeList(ctx, *opts) : s);
    });
  }
  {
    auto refs = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd =
        node->add_subcommand("inspect", "Display detailed information on one or more nodes");
    cmd->add_option("nodes", *refs, "self|NODE [NODE...]");
    cmd->callback([&ctx, refs] {
      const CommandUsage usage{"node inspect", "[OPTIONS] self|NODE [NODE...]",
                               "Display detailed information on one or more nodes"};
      Status s = CheckArgCount(usage, refs->size(), 1, -1);
      ctx.SetResult(s.ok() ? NodeInspect(ctx, *refs) : s);
    });
  }
  {
    auto opts = std::make_shared<NodeUpdateOptions>();
    auto args = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = node->add_subcommand("update", "Update a node");
    cmd->add_option("--availability", opts->availability,
                    "Availability of the node (\"active\"|\"pause\"|\"drain\")");
    cmd->add_option("--role", opts->role, "Role of the node (\"worker\"|\"manager\")");
    AddListOption(*cmd, "--label-add", opts->label_add, "Add or update a node label (key=value)");
    AddListOption(*cmd, "--label-rm", opts->label_rm, "Remove a node label if exists");
    cmd->add_option("node", *args, "NODE");
    cmd->callback([&ctx, opts, args] {
      Status s =
          CheckArgCount({"node update", "[OPTIONS] NODE", "Update a node"}, args->size(), 1, 1);
      if (s.ok()) opts->node = args->front();
      ctx.SetResult(s.ok() ? NodeUpdate(ctx, *opts) : s);
    });
  }
  for (const auto& [verb, role, help] :
       {std::tuple{"promote", "manager", "Promote one or more nodes to manager in the swarm"},
        std::tuple{"demote", "worker", "Demote one or more nodes from manager in the swarm"}}) {
    auto refs = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = node->add_subcommand(verb, help);
    cmd->add_option("nodes", *refs, "NODE [NODE...]");
    cmd->callback(
        [&ctx, refs, verb = std::string(verb), role = std::string(role), help = std::string(help)] {
          const CommandUsage usage{"node " + verb, "NODE [NODE...]", help};
          Status s = CheckArgCount(usage, refs->size(), 1, -1);
          ctx.SetResult(s.ok() ? NodeSetRole(ctx, *refs, role) : s);
        });
  }
  {
    auto force = std::make_shared<bool>(false);
    auto refs = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = node->add_subcommand("rm", "Remove one or more nodes from the swarm");
    cmd->alias("remove");
    cmd->add_flag("-f,--force", *force, "Force remove a node from the swarm");
    cmd->add_option("nodes", *refs, "NODE [NODE...]");
    cmd->callback([&ctx, force, refs] {
      const CommandUsage usage{"node rm", "[OPTIONS] NODE [NODE...]",
                               "Remove one or more nodes from the swarm"};
      Status s = CheckArgCount(usage, refs->size(), 1, -1);
      ctx.SetResult(s.ok() ? NodeRemove(ctx, *refs, *force) : s);
    });
  }
}

}  // namespace capsule::cli
