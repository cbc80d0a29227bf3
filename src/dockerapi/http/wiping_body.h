// A Beast body type for requests: like http::string_body, but every buffer it outgrows
// is wiped before release, so a secret in a chunked body leaves no copies in freed heap.
// (The final body is wiped by the server after the handler returns.)
#pragma once

#include <algorithm>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>
#include <cstdint>
#include <string>

#include "common/secret_bytes.h"

namespace capsule::http {

struct WipingStringBody {
  using value_type = std::string;

  static std::uint64_t size(const value_type& body) { return body.size(); }

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, boost::beast::error_code& ec) {
      ec = {};
      // The parser has already checked length against its body_limit.
      if (length) Grow(static_cast<size_t>(*length));
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      ec = {};
      const std::size_t n = boost::asio::buffer_size(buffers);
      if (body_.size() + n > body_.capacity()) {
        Grow(std::max(body_.capacity() * 2, body_.size() + n));
      }
      for (auto b : boost::beast::buffers_range_ref(buffers)) {
        body_.append(static_cast<const char*>(b.data()), b.size());
      }
      return n;
    }

    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    void Grow(size_t capacity) {
      if (capacity <= body_.capacity()) return;
      std::string fresh;
      fresh.reserve(capacity);
      fresh.append(body_);
      WipeString(body_);
      body_.swap(fresh);
    }
    value_type& body_;
  };
};

}  // namespace capsule::http
