#include "agent/registry/image_fetcher.h"

#include <spdlog/spdlog.h>

namespace capsule::agent::registry {
namespace {

class RegistryImageFetcher final : public ImageFetcher {
 public:
  RegistryImageFetcher(const ImageStore& store, Puller& puller) : store_(store), puller_(puller) {}

  bool Has(const std::string& image) const override { return store_.Inspect(image).ok(); }

  Status Pull(const std::string& image, const SecretBytes* registry_auth) override {
    ASSIGN_OR_RETURN(PullReference ref, ParsePullReference(image));
    RegistryAuth auth;
    if (registry_auth != nullptr && !registry_auth->empty()) {
      std::string header(registry_auth->view());
      StatusOr<RegistryAuth> decoded = DecodeRegistryAuthHeader(header);
      WipeString(header);
      if (decoded.ok()) {
        auth = *std::move(decoded);
      } else {
        spdlog::warn(
            "image {}: the service's registry credentials do not decode; pulling "
            "anonymously",
            image);
      }
    }
    return puller_.Pull(ref, auth, [](const std::string&) { return true; }).status();
  }

 private:
  const ImageStore& store_;
  Puller& puller_;
};

}  // namespace

std::unique_ptr<ImageFetcher> NewRegistryImageFetcher(const ImageStore& store, Puller& puller) {
  return std::make_unique<RegistryImageFetcher>(store, puller);
}

}  // namespace capsule::agent::registry
