// `capsule image import|load|ls|rm` — flags and arguments only; the work is in image_ops.
#include <memory>

#include "cli/commands.h"
#include "cli/image_ops.h"

namespace capsule::cli {

void AddImageCommands(CLI::App& root, CommandContext& ctx) {
  CLI::App* image = root.add_subcommand("image", "Manage images");
  {
    auto opts = std::make_shared<ImageImportOptions>();
    auto args = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = image->add_subcommand(
        "import", "Import the contents from a tarball to create a filesystem image");
    AddListOption(*cmd, "-c,--change", opts->changes,
                  "Apply Dockerfile instruction to the created image");
    cmd->add_option("-m,--message", opts->message, "Set commit message for imported image");
    cmd->add_option("args", *args, "file|- [REPOSITORY[:TAG]]");
    cmd->callback([&ctx, opts, args] {
      const CommandUsage usage{"image import", "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
                               "Import the contents from a tarball to create a filesystem image"};
      Status s = CheckArgCount(usage, args->size(), 1, 2);
      if (!s.ok()) return ctx.SetResult(s);
      opts->source = (*args)[0];
      if (args->size() == 2) opts->reference = (*args)[1];
      ctx.SetResult(ImageImport(ctx, *opts));
    });
  }
  {
    auto input = std::make_shared<std::string>();
    auto quiet = std::make_shared<bool>(false);
    auto stray = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = image->add_subcommand("load", "Load an image from a tar archive or STDIN");
    cmd->add_option("-i,--input", *input, "Read from tar archive file, instead of STDIN");
    cmd->add_flag("-q,--quiet", *quiet, "Suppress the load output");
    AddStrayArgs(*cmd, *stray);
    cmd->callback([&ctx, input, stray] {
      Status s =
          CheckArgCount({"image load", "[OPTIONS]", "Load an image from a tar archive or STDIN"},
                        stray->size(), 0, 0);
      ctx.SetResult(s.ok() ? ImageLoad(ctx, *input) : s);
    });
  }
  {
    auto opts = std::make_shared<ImageListOptions>();
    auto args = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = image->add_subcommand("ls", "List images");
    cmd->alias("list");
    cmd->add_flag("-q,--quiet", opts->quiet, "Only show image IDs");
    cmd->add_flag("--no-trunc", opts->no_trunc, "Don't truncate output");
    AddListOption(*cmd, "-f,--filter", opts->filters, "Filter output based on conditions provided");
    cmd->add_option("--format", opts->format, "Pretty-print images using a Go template");
    cmd->add_option("args", *args, "[REPOSITORY[:TAG]]");
    cmd->callback([&ctx, opts, args] {
      Status s = CheckArgCount({"image ls", "[OPTIONS] [REPOSITORY[:TAG]]", "List images"},
                               args->size(), 0, 1);
      if (!s.ok()) return ctx.SetResult(s);
      if (!args->empty()) opts->reference = args->front();
      ctx.SetResult(ImageList(ctx, *opts));
    });
  }
  {
    auto force = std::make_shared<bool>(false);
    auto no_prune = std::make_shared<bool>(false);
    auto names = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = image->add_subcommand("rm", "Remove one or more images");
    cmd->alias("remove");
    cmd->add_flag("-f,--force", *force, "Force removal of the image");
    cmd->add_flag("--no-prune", *no_prune, "Do not delete untagged parents");
    cmd->add_option("images", *names, "IMAGE [IMAGE...]");
    cmd->callback([&ctx, force, no_prune, names] {
      const CommandUsage usage{"image rm", "[OPTIONS] IMAGE [IMAGE...]",
                               "Remove one or more images"};
      Status s = CheckArgCount(usage, names->size(), 1, -1);
      ctx.SetResult(s.ok() ? ImageRemove(ctx, *names, *force, *no_prune) : s);
    });
  }
}

}  // namespace capsule::cli
