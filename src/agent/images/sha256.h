// Incremental SHA-256 (OpenSSL EVP) for image IDs and layer diff IDs.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace capsule::agent {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  std::string HexDigest();  // once

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string Sha256Hex(std::string_view data);

}  // namespace capsule::agent
