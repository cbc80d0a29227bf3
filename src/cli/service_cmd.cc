// `capsule service create|update|scale|ls|ps|inspect|logs|rm` — flags and arguments only;
// the work is in service_ops.
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/service_flags.h"
#include "cli/service_ops.h"

namespace capsule::cli {
namespace {

struct EditState {
  RawServiceFlags raw;
  ServiceFlags flags;
  std::vector<std::string> args;
  bool no_resolve_image = false;  // accepted for docker compatibility; nothing to resolve
};

// A string flag whose absence matters (docker's flags.Changed).
void OptionalFlag(CLI::App* cmd, const std::string& names, std::optional<std::string>& into,
                  const std::string& description) {
  cmd->add_option_function<std::string>(
      names, [&into](const std::string& v) { into = v; }, description);
}

// Flags create and update share (docker's addServiceFlags).
void AddCommonFlags(CLI::App* cmd, EditState& st) {
  cmd->add_flag("-d,--detach", st.flags.detach,
                "Exit immediately instead of waiting for the service to converge");
  cmd->add_flag("-q,--quiet", st.flags.quiet, "Suppress progress output");
  cmd->add_flag("--no-resolve-image", st.no_resolve_image,
                "Do not query the registry to resolve image digest and supported platforms "
                "(Capsule never does)");
  OptionalFlag(cmd, "-w,--workdir", st.flags.workdir, "Working directory inside the container");
  OptionalFlag(cmd, "-u,--user", st.flags.user,
               "Username or UID (format: <name|uid>[:<group|gid>])");
  OptionalFlag(cmd, "--replicas", st.raw.replicas, "Number of tasks");
  OptionalFlag(cmd, "--restart-condition", st.flags.restart_condition,
               "Restart when condition is met (\"none\"|\"on-failure\"|\"any\") (default \"any\")");
  OptionalFlag(cmd, "--restart-delay", st.raw.restart_delay,
               "Delay between restart attempts (ns|us|ms|s|m|h) (default 5s)");
  OptionalFlag(cmd, "--restart-max-attempts", st.raw.restart_max_attempts,
               "Maximum number of restarts before giving up");
  OptionalFlag(cmd, "--restart-window", st.raw.restart_window,
               "Window used to evaluate the restart policy (ns|us|ms|s|m|h)");
  OptionalFlag(cmd, "--update-parallelism", st.raw.update_parallelism,
               "Maximum number of tasks updated simultaneously (0 to update all at once)");
  OptionalFlag(cmd, "--update-delay", st.raw.update_delay,
               "Delay between updates (ns|us|ms|s|m|h) (default 0s)");
  OptionalFlag(cmd, "--update-monitor", st.raw.update_monitor,
               "Duration after each task update to monitor for failure (ns|us|ms|s|m|h)");
  OptionalFlag(cmd, "--update-failure-action", st.flags.update_failure_action,
               "Action on update failure (\"pause\"|\"continue\"|\"rollback\")");
  OptionalFlag(cmd, "--update-order", st.flags.update_order,
               "Update order (\"start-first\"|\"stop-first\")");
  OptionalFlag(cmd, "--limit-cpu", st.raw.limit_cpu, "Limit CPUs");
  OptionalFlag(cmd, "--limit-memory", st.raw.limit_memory, "Limit Memory");
  OptionalFlag(cmd, "--limit-pids", st.raw.limit_pids,
               "Limit maximum number of processes (default 0 = Capsule's default, 4096)");
  OptionalFlag(cmd, "--reserve-cpu", st.raw.reserve_cpu, "Reserve CPUs");
  OptionalFlag(cmd, "--reserve-memory", st.raw.reserve_memory, "Reserve Memory");
  AddListOption(*cmd, "--secret-refresh", st.raw.secret_refresh,
                "Capsule: refresh a secret in running tasks when it is rotated, instead of "
                "replacing them: NAME=signal:SIG (swap the file in /run/secrets, then send SIG, "
                "e.g. signal:SIGHUP) or NAME=none (swap only); NAME= removes the policy. The "
                "secret's target must be inside /run/secrets; the task should re-open the file");
}

// Parses the typed flags; a bad value is a flag error (exit 125, as docker).
bool ParseFlags(CommandContext& ctx, EditState& st, const std::string& path,
                const std::string& secret_flag) {
  Status s = ParseServiceFlags(st.raw, path, secret_flag, &st.flags);
  if (!s.ok()) ctx.SetFlagError(s);
  return s.ok();
}

void AddCreate(CLI::App* service, CommandContext& ctx) {
  auto st = std::make_shared<EditState>();
  CLI::App* cmd = service->add_subcommand("create", "Create a new service");
  AddCommonFlags(cmd, *st);
  cmd->add_option("--name", st->flags.name, "Service name");
  cmd->add_option("--mode", st->flags.mode, "Service mode (replicated or global)");
  AddListOption(*cmd, "--secret", st->raw.secrets, "Specify secrets to expose to the service");
  AddListOption(*cmd, "-e,--env", st->flags.env, "Set environment variables");
  AddListOption(*cmd, "-l,--label", st->flags.labels, "Service labels");
  AddListOption(*cmd, "--container-label", st->flags.container_labels, "Container labels");
  AddListOption(*cmd, "--constraint", st->flags.constraints, "Placement constraints");
  // Everything from IMAGE on is the image, the command and its arguments (docker stops
  // parsing flags there too).
  cmd->prefix_command();
  cmd->callback([&ctx, st, cmd] {
    const CommandUsage usage{"service create", "[OPTIONS] IMAGE [COMMAND] [ARG...]",
                             "Create a new service"};
    std::vector<std::string> rest = cmd->remaining();
    if (!rest.empty() && rest.front() == "--") {
      rest.erase(rest.begin());
    } else if (!rest.empty() && rest.front().size() > 1 && rest.front()[0] == '-') {
      // prefix_command() hands over an unknown flag before IMAGE as the first word.
      return ctx.SetFlagError(absl::InvalidArgumentError(
          absl::StrCat("unknown flag: ", rest.front().substr(0, rest.front().find('=')), "\nSee '",
                       kProgramName, " service create --help'.")));
    }
    Status s = CheckArgCount(usage, rest.size(), 1, -1);
    if (!s.ok()) return ctx.SetResult(s);
    if (!ParseFlags(ctx, *st, "service create", "--secret")) return;
    st->flags.image = rest.front();
    st->flags.args.assign(rest.begin() + 1, rest.end());
    ctx.SetResult(ServiceCreate(ctx, st->flags));
  });
}

void AddUpdate(CLI::App* service, CommandContext& ctx) {
  auto st = std::make_shared<EditState>();
  CLI::App* cmd = service->add_subcommand("update", "Update a service");
  AddCommonFlags(cmd, *st);
  OptionalFlag(cmd, "--image", st->flags.new_image, "Service image tag");
  AddListOption(*cmd, "--secret-add", st->raw.secrets, "Add or update a secret on a service");
  AddListOption(*cmd, "--secret-rm", st->flags.secret_rm, "Remove a secret");
  AddListOption(*cmd, "--env-add", st->flags.env, "Add or update an environment variable");
  AddListOption(*cmd, "--env-rm", st->flags.env_rm, "Remove an environment variable");
  AddListOption(*cmd, "--label-add", st->flags.label_add, "Add or update a service label");
  AddListOption(*cmd, "--label-rm", st->flags.label_rm, "Remove a label by its key");
  AddListOption(*cmd, "--container-label-add", st->flags.container_label_add,
                "Add or update a container label");
  AddListOption(*cmd, "--container-label-rm", st->flags.container_label_rm,
                "Remove a container label by its key");
  AddListOption(*cmd, "--constraint-add", st->flags.constraint_add,
                "Add or update a placement constraint");
  AddListOption(*cmd, "--constraint-rm", st->flags.constraint_rm, "Remove a constraint");
  cmd->add_flag("--force", st->flags.force, "Force update even if no changes require it");
  cmd->add_option("service", st->args, "SERVICE");
  cmd->callback([&ctx, st] {
    Status s = CheckArgCount({"service update", "[OPTIONS] SERVICE", "Update a service"},
                             st->args.size(), 1, 1);
    if (!s.ok()) return ctx.SetResult(s);
    if (!ParseFlags(ctx, *st, "service update", "--secret-add")) return;
    ctx.SetResult(ServiceUpdate(ctx, st->args.front(), st->flags));
  });
}

void AddScale(CLI::App* service, CommandContext& ctx) {
  auto detach = std::make_shared<bool>(false);
  auto args = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = service->add_subcommand("scale", "Scale one or multiple replicated services");
  cmd->add_flag("-d,--detach", *detach,
                "Exit immediately instead of waiting for the service to converge");
  cmd->add_option("services", *args, "SERVICE=REPLICAS [SERVICE=REPLICAS...]");
  cmd->callback([&ctx, detach, args] {
    const CommandUsage usage{"service scale", "SERVICE=REPLICAS [SERVICE=REPLICAS...]",
                             "Scale one or multiple replicated services"};
    Status s = CheckArgCount(usage, args->size(), 1, -1);
    if (!s.ok()) return ctx.SetResult(s);
    for (const std::string& arg : *args) {
      if (arg.find('=') != std::string::npos) continue;
      const std::string full = absl::StrCat(kProgramName, " ", usage.path);
      return ctx.SetResult(absl::InvalidArgumentError(
          absl::StrCat("Invalid scale specifier '", arg, "'.\nSee '", full,
                       " --help'.\n\nUsage:  ", full, " ", usage.args, "\n\n", usage.description)));
    }
    ctx.SetResult(ServiceScale(ctx, *args, *detach));
  });
}

void AddLs(CLI::App* service, CommandContext& ctx) {
  auto opts = std::make_shared<ServiceListOptions>();
  auto stray = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = service->add_subcommand("ls", "List services");
  cmd->alias("list");
  cmd->add_flag("-q,--quiet", opts->quiet, "Only display IDs");
  AddListOption(*cmd, "-f,--filter", opts->filters, "Filter output based on conditions provided");
  cmd->add_option("--format", opts->format, "Pretty-print services using a Go template");
  AddStrayArgs(*cmd, *stray);
  cmd->callback([&ctx, opts, stray] {
    Status s = CheckArgCount({"service ls", "[OPTIONS]", "List services"}, stray->size(), 0, 0);
    ctx.SetResult(s.ok() ? ServiceList(ctx, *opts) : s);
  });
}

void AddPs(CLI::App* service, CommandContext& ctx) {
  auto opts = std::make_shared<ServicePsOptions>();
  CLI::App* cmd = service->add_subcommand("ps", "List the tasks of one or more services");
  cmd->add_flag("-q,--quiet", opts->quiet, "Only display task IDs");
  cmd->add_flag("--no-trunc", opts->no_trunc, "Do not truncate output");
  cmd->add_flag("--no-resolve", opts->no_resolve, "Do not map IDs to Names");
  AddListOption(*cmd, "-f,--filter", opts->filters, "Filter output based on conditions provided");
  cmd->add_option("--format", opts->format, "Pretty-print tasks using a Go template");
  cmd->add_option("services", opts->services, "SERVICE [SERVICE...]");
  cmd->callback([&ctx, opts] {
    const CommandUsage usage{"service ps", "[OPTIONS] SERVICE [SERVICE...]",
                             "List the tasks of one or more services"};
    Status s = CheckArgCount(usage, opts->services.size(), 1, -1);
    ctx.SetResult(s.ok() ? ServicePs(ctx, *opts) : s);
  });
}

void AddInspect(CLI::App* service, CommandContext& ctx) {
  auto pretty = std::make_shared<bool>(false);
  auto refs = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd =
      service->add_subcommand("inspect", "Display detailed information on one or more services");
  cmd->add_flag("--pretty", *pretty, "Print the information in a human friendly format");
  cmd->add_option("services", *refs, "SERVICE [SERVICE...]");
  cmd->callback([&ctx, pretty, refs] {
    const CommandUsage usage{"service inspect", "[OPTIONS] SERVICE [SERVICE...]",
                             "Display detailed information on one or more services"};
    Status s = CheckArgCount(usage, refs->size(), 1, -1);
    ctx.SetResult(s.ok() ? ServiceInspect(ctx, *refs, *pretty) : s);
  });
}

void AddLogs(CLI::App* service, CommandContext& ctx) {
  auto opts = std::make_shared<ServiceLogsOptions>();
  auto args = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = service->add_subcommand("logs", "Fetch the logs of a service or task");
  cmd->add_flag("-f,--follow", opts->follow, "Follow log output");
  cmd->add_flag("-t,--timestamps", opts->timestamps, "Show timestamps");
  cmd->add_option("-n,--tail", opts->tail, "Number of lines to show from the end of the logs");
  cmd->add_option("--since", opts->since, "Show logs since timestamp or relative");
  cmd->add_flag("--details", opts->details, "Show extra details provided to logs");
  cmd->add_flag("--raw", opts->raw, "Do not neatly format logs");
  cmd->add_flag("--no-resolve", opts->no_resolve, "Do not map IDs to Names in output");
  cmd->add_flag("--no-trunc", opts->no_trunc, "Do not truncate output");
  cmd->add_flag("--no-task-ids", opts->no_task_ids, "Do not include task IDs in output");
  cmd->add_option("target", *args, "SERVICE|TASK");
  cmd->callback([&ctx, opts, args] {
    const CommandUsage usage{"service logs", "[OPTIONS] SERVICE|TASK",
                             "Fetch the logs of a service or task"};
    Status s = CheckArgCount(usage, args->size(), 1, 1);
    if (s.ok()) opts->target = args->front();
    ctx.SetResult(s.ok() ? ServiceLogs(ctx, *opts) : s);
  });
}

void AddRm(CLI::App* service, CommandContext& ctx) {
  auto refs = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = service->add_subcommand("rm", "Remove one or more services");
  cmd->alias("remove");
  cmd->add_option("services", *refs, "SERVICE [SERVICE...]");
  cmd->callback([&ctx, refs] {
    const CommandUsage usage{"service rm", "SERVICE [SERVICE...]", "Remove one or more services"};
    Status s = CheckArgCount(usage, refs->size(), 1, -1);
    ctx.SetResult(s.ok() ? ServiceRemove(ctx, *refs) : s);
  });
}

}  // namespace

void AddServiceCommands(CLI::App& root, CommandContext& ctx) {
  CLI::App* service = root.add_subcommand("service", "Manage services");
  AddCreate(service, ctx);
  AddUpdate(service, ctx);
  AddScale(service, ctx);
  AddLs(service, ctx);
  AddPs(service, ctx);
  AddInspect(service, ctx);
  AddLogs(service, ctx);
  AddRm(service, ctx);
}

}  // namespace capsule::cli
