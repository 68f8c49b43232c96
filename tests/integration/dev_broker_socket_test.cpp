// The dev broker's connections behave like a real Kafka broker's: TCP_NODELAY on every accepted
// socket. librdkafka's mock leaves Nagle's algorithm on, and a response written in two pieces then
// waits for the client's delayed ACK (about 40 ms on Linux): every producer acknowledgement and
// many fetches took 40 ms longer than the work behind them (shared/kafka/mock_cluster.cpp).
#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "harness.h"
#include "kafka/client.h"

namespace sw::test {
namespace {

// Duplicates file descriptor `fd` of process `pid` into this process (pidfd_getfd(2)).
int steal_fd(pid_t pid, int fd) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return -1;
  const int copy = static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, 0));
  ::close(pidfd);
  return copy;
}

std::uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0 || a.sin_family != AF_INET) return 0;
  return ntohs(a.sin_port);
}

std::uint16_t peer_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0 || a.sin_family != AF_INET) return 0;
  return ntohs(a.sin_port);
}

TEST(DevBrokerSockets, AcceptedConnectionsHaveNagleOff) {
  DevBroker broker({"logs:1"});
  const auto& bootstrap = broker.bootstrap();
  const auto colon = bootstrap.rfind(':');
  ASSERT_NE(colon, std::string::npos);
  const int port = std::stoi(bootstrap.substr(colon + 1));

  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(client, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const auto client_port = local_port(client);

  // The broker's end of this connection: the socket whose peer is our local port.
  int found = -1, nodelay = -1;
  bool denied = false;
  for (int attempt = 0; attempt < 50 && found < 0; ++attempt) {
    const std::string dir = "/proc/" + std::to_string(broker.pid()) + "/fd";
    DIR* d = ::opendir(dir.c_str());
    ASSERT_NE(d, nullptr) << dir;
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      const int fd = steal_fd(broker.pid(), std::stoi(e->d_name));
      if (fd < 0) {
        denied = denied || errno == EPERM;
        continue;
      }
      if (local_port(fd) == port && peer_port(fd) == client_port) {
        socklen_t len = sizeof nodelay;
        EXPECT_EQ(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
        found = fd;
      } else {
        ::close(fd);
      }
      if (found >= 0) break;
    }
    ::closedir(d);
    if (found < 0) ::usleep(20000);  // accepted by the broker's thread a moment later
  }
  ::close(client);
  if (found < 0 && denied) GTEST_SKIP() << "pidfd_getfd not permitted here";
  ASSERT_GE(found, 0) << "no broker socket connected to port " << client_port;
  ::close(found);
  EXPECT_NE(nodelay, 0) << "the dev broker leaves Nagle's algorithm on";
}

// Consumer::poll returns what is there as soon as something is: librdkafka's batch call alone
// would hold a single record for the whole timeout (it returns early only with a full batch),
// and that wait was the floor under every stage's latency.
TEST(DevBrokerSockets, PollReturnsARecordWithoutWaitingForTheTimeout) {
  using namespace std::chrono_literals;
  DevBroker broker({"logs:1"});
  kafka::Config pc;
  pc.set(kafka::keys::bootstrap_servers, broker.bootstrap());
  kafka::Producer producer(pc);
  const auto topic = producer.topic("logs");
  kafka::Config cc;
  cc.set(kafka::keys::bootstrap_servers, broker.bootstrap());
  cc.set(kafka::keys::fetch_wait_max_ms, 10);
  kafka::Consumer consumer(cc, nullptr);
  ASSERT_FALSE(consumer.assign({{"logs", 0, Offset::beginning(), {}}}));
  kafka::MessageBatch batch(1000);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  bool sent = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!sent) {
      ASSERT_FALSE(producer.send(topic, 0, "k", "v"));
      ASSERT_FALSE(producer.flush(10s));
      sent = true;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const auto n = consumer.poll(batch, 1000, 20s);
    const auto took = std::chrono::steady_clock::now() - t0;
    if (n == 1 && !batch[0].error()) {
      EXPECT_LT(took, 10s) << "poll held one record for its whole timeout";
      return;
    }
  }
  FAIL() << "the record never arrived";
}

}  // namespace
}  // namespace sw::test
