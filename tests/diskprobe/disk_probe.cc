// capsule_disk_probe: the stolen-disk attacker of tests/integration/test_autolock.py (not a
// test itself). Given a copy of a manager's data root, it tries every key material found in
// it to open what protects the swarm's secrets:
//   - the wrapped DEK keyring (every value of /capsule/v1/keys/keyring found in etcd's files),
//     with every 32-byte window of every file (windows with 8 or more zero bytes skipped:
//     bbolt pages and preallocated WAL segments), and every base64/hex token of 32 bytes
//     (an "SWMKEY-1-…" text included);
//   - with a keyring it opened, every value under /capsule/v1/objects/ it can find, written
//     to --dump (the test scans that for its canary: the positive control);
//   - the node's TLS key: whether swarm/certificates/swarm-node.key parses as a private key in
//     the clear, and whether swarm-node.key.sealed (an autolocked manager's,
//     node/identity_vault.h) opens with any candidate.
// Prints one JSON object. Usage: capsule_disk_probe <data-root-copy> [--dump FILE]
#include <openssl/pem.h>
#include <sodium.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/keyring.h"
#include "crypto/random.h"

namespace {

using capsule::SecretBytes;
namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

bool ReadVarint(const std::string& s, size_t* i, uint64_t* out) {
  *out = 0;
  for (int shift = 0; shift < 64 && *i < s.size(); shift += 7) {
    const uint8_t b = static_cast<uint8_t>(s[(*i)++]);
    *out |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

// etcd's mvccpb.KeyValue as stored in its bbolt file: 0x0a len key, then fields 2-6. For
// every occurrence of a key with `prefix`, the key and its value (field 5).
std::vector<std::pair<std::string, std::string>> FindKeyValues(const std::string& blob,
                                                               const std::string& prefix) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t at = blob.find(prefix); at != std::string::npos; at = blob.find(prefix, at + 1)) {
    // Walk back over the length varint (1-2 bytes) to the 0x0a tag.
    for (size_t back = 2; back <= 3 && at >= back; ++back) {
      size_t i = at - back;
      if (static_cast<uint8_t>(blob[i]) != 0x0a) continue;
      ++i;
      uint64_t len = 0;
      if (!ReadVarint(blob, &i, &len) || i != at || at + len > blob.size()) continue;
      std::string key = blob.substr(at, len);
      i = at + len;
      std::string value;
      bool found = false;
      while (i < blob.size() && !found) {
        uint64_t tag = 0;
        if (!ReadVarint(blob, &i, &tag)) break;
        const uint64_t field = tag >> 3, wire = tag & 7;
        uint64_t v = 0;
        if (wire == 0) {
          if (!ReadVarint(blob, &i, &v)) break;
        } else if (wire == 2) {
          if (!ReadVarint(blob, &i, &v) || i + v > blob.size()) break;
          if (field == 5) {
            value = blob.substr(i, v);
            found = true;
          }
          i += v;
        } else {
          break;
        }
        if (field < 2 || field > 6) break;
      }
      if (found) out.emplace_back(std::move(key), std::move(value));
      break;
    }
  }
  return out;
}

void AddTokens(const std::string& blob, std::set<std::string>* out) {
  auto is_b64 = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '-' ||
           c == '_';
  };
  for (size_t i = 0; i < blob.size();) {
    if (!is_b64(blob[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < blob.size() && is_b64(blob[j])) ++j;
    const std::string tok = blob.substr(i, j - i);
    i = j;
    if (tok.size() < 43) continue;
    // Every 43/44-char (base64) and 64-char (hex) substring: keys may sit inside longer runs.
    for (size_t n : {43, 44, 64}) {
      for (size_t k = 0; k + n <= tok.size(); ++k) {
        uint8_t buf[64];
        size_t len = 0;
        const std::string sub = tok.substr(k, n);
        for (int variant : {sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
                            sodium_base64_VARIANT_URLSAFE_NO_PADDING}) {
          if (n != 64 &&
              sodium_base642bin(buf, sizeof(buf), sub.data(), sub.size(), "=", &len, nullptr,
                                variant) == 0 &&
              len == 32) {
            out->insert(std::string(reinterpret_cast<char*>(buf), 32));
          }
        }
        if (n == 64 &&
            sodium_hex2bin(buf, sizeof(buf), sub.data(), sub.size(), nullptr, &len, nullptr) == 0 &&
            len == 32) {
          out->insert(std::string(reinterpret_cast<char*>(buf), 32));
        }
      }
    }
  }
}

void AddWindows(const std::string& blob, std::set<std::string>* out) {
  if (blob.size() < 32) return;
  int zeros = 0;
  for (size_t i = 0; i < 32; ++i) zeros += blob[i] == 0;
  for (size_t i = 0;; ++i) {
    if (zeros < 8) out->insert(blob.substr(i, 32));
    if (i + 32 >= blob.size()) break;
    zeros += (blob[i + 32] == 0) - (blob[i] == 0);
  }
}

bool PemKeyInClear(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  // A callback that supplies no password: an encrypted PEM does not parse.
  EVP_PKEY* key = PEM_read_bio_PrivateKey(
      bio, nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
  BIO_free(bio);
  const bool ok = key != nullptr;
  EVP_PKEY_free(key);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <data-root-copy> [--dump FILE]\n", argv[0]);
    return 2;
  }
  if (!capsule::crypto::InitCrypto().ok()) return 2;
  const fs::path root = argv[1];
  std::string dump_path;
  for (int i = 2; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--dump") dump_path = argv[i + 1];
  }
  std::vector<std::pair<std::string, std::string>> wrapped, objects;
  std::set<std::string> candidates;
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file() || e.is_symlink()) continue;
    ++files;
    const std::string blob = ReadAll(e.path());
    for (auto& kv : FindKeyValues(blob, "/capsule/v1/keys/keyring")) wrapped.push_back(kv);
    for (auto& kv : FindKeyValues(blob, "/capsule/v1/objects/")) objects.push_back(kv);
    AddWindows(blob, &candidates);
    AddTokens(blob, &candidates);
  }
  nlohmann::json report = {{"files", files},
                           {"candidates", candidates.size()},
                           {"keyrings_found", wrapped.size()},
                           {"objects_found", objects.size()}};
  std::optional<capsule::crypto::Keyring> keyring;
  for (const std::string& c : candidates) {
    const SecretBytes kek = SecretBytes::CopyFrom(std::string_view(c));
    for (const auto& [key, value] : wrapped) {
      auto k = capsule::crypto::Keyring::Unwrap(kek, value);
      if (k.ok()) {
        keyring = *std::move(k);
        break;
      }
    }
    if (keyring) break;
  }
  report["keyring_opened"] = keyring.has_value();
  size_t opened = 0;
  if (keyring) {
    std::ofstream dump;
    if (!dump_path.empty()) dump.open(dump_path, std::ios::binary);
    for (const auto& [key, value] : objects) {
      auto plain = keyring->Open(key, value);
      if (!plain.ok()) continue;
      ++opened;
      if (dump.is_open()) dump.write(plain->view().data(), plain->view().size());
    }
  }
  report["values_opened"] = opened;
  const fs::path node_key = root / "swarm" / "certificates" / "swarm-node.key";
  report["node_key_present"] = fs::exists(node_key);
  report["node_key_in_clear"] = fs::exists(node_key) && PemKeyInClear(ReadAll(node_key));
  // An autolocked manager's key: node/identity_vault.h's envelope.
  const fs::path sealed_key = root / "swarm" / "certificates" / "swarm-node.key.sealed";
  report["sealed_node_key_present"] = fs::exists(sealed_key);
  bool node_key_opened = false;
  if (fs::exists(sealed_key)) {
    const std::string sealed = ReadAll(sealed_key);
    for (const std::string& c : candidates) {
      const SecretBytes kek = SecretBytes::CopyFrom(std::string_view(c));
      if (capsule::crypto::Open(kek, "capsule/node-key/v1", sealed).ok()) {
        node_key_opened = true;
        break;
      }
    }
  }
  report["sealed_node_key_opened"] = node_key_opened;
  std::cout << report.dump() << "\n";
  return 0;
}
