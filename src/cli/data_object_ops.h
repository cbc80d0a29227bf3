// `capsule secret …` and `capsule config …` are one set of commands over two kinds of object
// (the Docker API's /secrets and /configs have the same shape). These are the operations
// behind both (secret_ops.cc); secret_ops.h names them for secrets, config_cmd.cc uses them
// with kConfigKind. Errors come back as Status whose message is the text to show on stderr.
#pragma once

#include <string>
#include <vector>

#include "cli/context.h"
#include "cli/secret_ops.h"
#include "common/status.h"

namespace capsule::cli {

struct ObjectKind {
  std::string noun;   // "secret" | "config" (in messages and usage lines)
  std::string path;   // API collection: "/secrets" | "/configs"
  std::string title;  // "Secrets" | "Configs" (help: "Manage Secrets")
  bool has_driver;    // secrets: -d/--driver, a DRIVER column and "Driver:" in --pretty;
                      // configs instead show their Data in --pretty
};

inline const ObjectKind kSecretKind{"secret", "/secrets", "Secrets", true};
inline const ObjectKind kConfigKind{"config", "/configs", "Configs", false};

// As SecretCreate, SecretList, SecretInspect and SecretRemove (secret_ops.h), for `kind`.
Status DataObjectCreate(CommandContext& ctx, const ObjectKind& kind,
                        const SecretCreateOptions& options);
Status DataObjectList(CommandContext& ctx, const ObjectKind& kind,
                      const SecretListOptions& options);
Status DataObjectInspect(CommandContext& ctx, const ObjectKind& kind,
                         const SecretInspectOptions& options);
Status DataObjectRemove(CommandContext& ctx, const ObjectKind& kind,
                        const std::vector<std::string>& names);

}  // namespace capsule::cli
