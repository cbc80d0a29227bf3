// Docker's pull progress messages (moby's pkg/jsonmessage.JSONMessage), one JSON object per
// line as POST /images/create streams them, so both docker CLIs draw their progress bars:
//   {"status":"Pulling from team/db","id":"1.4"}
//   {"status":"Downloading","progressDetail":{"current":N,"total":M},"progress":"[=>  ] ...",
//    "id":"<12 hex of the layer digest>"}
//   {"errorDetail":{"message":"..."},"error":"..."}
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace capsule::agent::registry {

// Receives each message as one JSON text (no line end). May be called from the pulling thread
// only; returns false when the client has gone (the pull then stops).
using ProgressSink = std::function<bool(const std::string& json)>;

// {"status":status,"id":id} (id omitted when empty).
std::string StatusMessage(const std::string& status, const std::string& id = "");
// {"status":status,"progressDetail":{},"id":id}: "Pulling fs layer", "Download complete", ...
std::string LayerMessage(const std::string& status, const std::string& id);
// {"status":status,"progressDetail":{"current":c,"total":t},"progress":"[==>  ] c/t","id":id}
std::string ProgressMessage(const std::string& status, const std::string& id, int64_t current,
                            int64_t total);
// {"errorDetail":{"message":m},"error":m}
std::string ErrorMessage(const std::string& message);

// Docker's progress bar text (JSONProgress.String): "[=====>    ]  1.2MB/5.3MB".
std::string ProgressBar(int64_t current, int64_t total);
// go-units HumanSizeWithPrecision(n, 4): "1.234MB", "512B", "32.77kB".
std::string HumanSize(double bytes);
// The layer ID Docker shows: the first 12 hex digits of a digest.
std::string ShortDigest(const std::string& digest);

}  // namespace capsule::agent::registry
