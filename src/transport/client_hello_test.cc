#include "transport/client_hello.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace capsule::transport {
namespace {

// The first bytes a real OpenSSL client sends, asking for `server_name` (none if empty).
std::string RealClientHello(const std::string& server_name) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), in, out);  // ssl owns both
  if (!server_name.empty()) SSL_set_tlsext_host_name(ssl.get(), server_name.c_str());
  SSL_connect(ssl.get());  // wants to read the ServerHello: the ClientHello is in `out`
  char* data = nullptr;
  long n = BIO_get_mem_data(out, &data);
  return std::string(data, static_cast<size_t>(n));
}

ClientHelloSni Parse(const std::string& bytes) { return ParseClientHelloSni(bytes); }

TEST(ClientHelloTest, ReadsTheServerNameOfARealClientHello) {
  for (const char* name : {"swarm-join", "swarm-manager", "a.example"}) {
    ClientHelloSni got = Parse(RealClientHello(name));
    EXPECT_EQ(got.state, ClientHelloSni::State::kDone);
    EXPECT_EQ(got.server_name, name);
  }
}

TEST(ClientHelloTest, AClientHelloWithoutServerNameIsJudgedWithNone) {
  ClientHelloSni got = Parse(RealClientHello(""));
  EXPECT_EQ(got.state, ClientHelloSni::State::kDone);
  EXPECT_EQ(got.server_name, "");
}

TEST(ClientHelloTest, EveryPrefixOfAClientHelloAsksForMore) {
  std::string hello = RealClientHello("swarm-join");
  for (size_t n = 0; n < hello.size(); ++n) {
    EXPECT_EQ(Parse(hello.substr(0, n)).state, ClientHelloSni::State::kNeedMore) << n;
  }
}

TEST(ClientHelloTest, NotTlsIsJudgedAtOnceWithNoName) {
  ClientHelloSni got = Parse("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  EXPECT_EQ(got.state, ClientHelloSni::State::kDone);
  EXPECT_EQ(got.server_name, "");
  EXPECT_EQ(Parse("G").state, ClientHelloSni::State::kDone);
}

TEST(ClientHelloTest, ARecordLongerThanTlsAllowsIsJudgedWithNoName) {
  // Declares 0xffff bytes: nobody waits for more than one legal record.
  ClientHelloSni got = Parse(std::string("\x16\x03\x01\xff\xff", 5));
  EXPECT_EQ(got.state, ClientHelloSni::State::kDone);
  EXPECT_EQ(got.server_name, "");
}

TEST(ClientHelloTest, TruncatedOrLyingLengthsInsideTheRecordGiveNoName) {
  std::string hello = RealClientHello("swarm-join");
  // Every byte after the record header, in turn, set to 0xff: lengths that overrun their
  // container must never be followed past it (ASan would see a read out of bounds) and
  // never yield a name the client did not send.
  for (size_t i = 5; i < hello.size(); ++i) {
    std::string bad = hello;
    bad[i] = '\xff';
    ClientHelloSni got = Parse(bad);
    EXPECT_EQ(got.state, ClientHelloSni::State::kDone) << i;
    if (!got.server_name.empty() && got.server_name != "swarm-join") {
      // A changed byte inside the name itself changes the name: fine, it is what was sent.
      EXPECT_EQ(got.server_name.size(), std::string("swarm-join").size()) << i;
    }
  }
}

TEST(ClientHelloTest, AHandshakeMessageOtherThanClientHelloGivesNoName) {
  std::string hello = RealClientHello("swarm-join");
  hello[5] = 2;  // ServerHello
  EXPECT_EQ(Parse(hello).server_name, "");
}

}  // namespace
}  // namespace capsule::transport
