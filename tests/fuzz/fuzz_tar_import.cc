// Fuzz target: image tar import — TarReader (ustar, GNU long names, PAX) + ApplyLayer onto a
// fresh root per input, fed in pieces whose size the first byte picks. Layout per input:
//   <base>/a/b/root     the rootfs being built (the only place writes may land)
//   <base>/a/canary     a file outside the rootfs: must keep its content, mode and link count
// After each input: <base> holds nothing but a/, a/b/, a/b/root and a/canary (no `..`,
// symlink or hard-link escape), then everything is removed.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "agent/images/apply_layer.h"
#include "agent/images/tar_reader.h"
#include "common/unique_fd.h"
#include "fuzz_check.h"

namespace {

namespace fs = std::filesystem;

constexpr char kCanary[] = "canary-outside-the-rootfs";

std::string g_base;  // the current input's temp dir, removed even when a check fails
void RemoveBase() {
  std::error_code ec;
  if (!g_base.empty()) fs::remove_all(g_base, ec);
}

std::string MakeBase() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/capsule-fuzz-tar-XXXXXX";
  FUZZ_CHECK(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp failed");
  return tmpl;
}

void CheckOutside(const std::string& base) {
  std::set<std::string> seen;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(base, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string rel = fs::relative(it->path(), base).string();
    if (rel == "a/b/root") it.disable_recursion_pending();  // inside the rootfs: anything goes
    seen.insert(rel);
  }
  FUZZ_CHECK(!ec, "walking %s: %s", base.c_str(), ec.message().c_str());
  const std::set<std::string> want = {"a", "a/b", "a/b/root", "a/canary"};
  for (const std::string& s : seen) {
    FUZZ_CHECK(want.count(s) == 1, "created outside the rootfs: %s", s.c_str());
  }
  FUZZ_CHECK(seen == want, "something outside the rootfs was removed");
  struct stat st;
  const std::string canary = base + "/a/canary";
  FUZZ_CHECK(::lstat(canary.c_str(), &st) == 0 && S_ISREG(st.st_mode), "canary gone");
  FUZZ_CHECK(st.st_nlink == 1, "canary got a hard link from inside the rootfs");
  FUZZ_CHECK((st.st_mode & 07777) == 0600 && st.st_uid == ::geteuid(), "canary metadata changed");
  std::ifstream f(canary);
  const std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  FUZZ_CHECK(content == kCanary, "canary content changed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] * 7;  // 1..1786 bytes per chunk
  const std::string_view tar(reinterpret_cast<const char*>(data) + 1, size - 1);

  const std::string base = MakeBase();
  g_base = base;
  g_fuzz_cleanup = RemoveBase;
  fs::create_directories(base + "/a/b/root");
  {
    std::ofstream(base + "/a/canary") << kCanary;
    ::chmod((base + "/a/canary").c_str(), 0600);
  }
  {
    capsule::UniqueFd root(
        ::open((base + "/a/b/root").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    FUZZ_CHECK(root.valid(), "cannot open the rootfs");
    size_t off = 0;
    capsule::agent::ChunkReader in([&]() -> capsule::StatusOr<std::string_view> {
      std::string_view out = tar.substr(off, piece);
      off += out.size();
      return out;
    });
    capsule::agent::TarReader reader(in);
    capsule::Status st = capsule::agent::ApplyLayer(reader, root.get());
    (void)st;  // errors are fine; what matters is where the writes went
  }
  // Positive control (CTest fuzz_replay.tar_import_positive_control): a file planted next to
  // the rootfs must make the check fail.
  if (std::getenv("CAPSULE_FUZZ_PLANT_ESCAPE") != nullptr) {
    std::ofstream(base + "/a/b/escaped") << "x";
  }
  CheckOutside(base);
  std::error_code ec;
  fs::remove_all(base, ec);
  g_base.clear();
  FUZZ_CHECK(!ec, "cannot remove %s: %s", base.c_str(), ec.message().c_str());
  return 0;
}
