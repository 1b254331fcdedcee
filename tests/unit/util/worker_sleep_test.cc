#include "util/worker_sleep.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "util/rx_wakeup.h"

namespace fairway {
namespace {

struct Pipe {
  int fds[2] = {-1, -1};
  Pipe() { EXPECT_EQ(pipe(fds), 0); }
  ~Pipe() {
    close(fds[0]);
    close(fds[1]);
  }
  int reader() const { return fds[0]; }
  void put() const { ASSERT_EQ(write(fds[1], "x", 1), 1); }
};

TEST(WorkerSleep, AReadableQueueWakesTheWorker) {
  Pipe queue;
  WorkerSleep sleep;
  std::string error;
  ASSERT_TRUE(sleep.init({queue.reader()}, error)) << error;
  EXPECT_TRUE(sleep.every_queue_wakes());
  queue.put();
  EXPECT_EQ(sleep.sleep(), WorkerSleep::Woken::queue);
}

TEST(WorkerSleep, RingsBeforeTheSleepAreNotLostAndTwoWakeOnce) {
  Pipe queue;
  WorkerSleep sleep;
  std::string error;
  ASSERT_TRUE(sleep.init({queue.reader()}, error)) << error;
  sleep.ring();
  sleep.ring();  // rings before the sleep are not lost, and two count as one wake-up
  EXPECT_EQ(sleep.sleep(), WorkerSleep::Woken::doorbell);
  EXPECT_EQ(sleep.sleep(), WorkerSleep::Woken::timeout);
  std::thread ringer([&] { sleep.ring(); });
  EXPECT_EQ(sleep.sleep(), WorkerSleep::Woken::doorbell);  // or the ring came first: same answer
  ringer.join();
}

TEST(WorkerSleep, AQueueWithoutDescriptorOnlyNaps) {
  Pipe queue;
  WorkerSleep sleep;
  std::string error;
  ASSERT_TRUE(sleep.init({queue.reader(), -1}, error)) << error;
  EXPECT_FALSE(sleep.every_queue_wakes());
  EXPECT_EQ(sleep.sleep(), WorkerSleep::Woken::timeout);
}

TEST(RxWakeup, FindsTheAfXdpSocketAQueueSetupCreated) {
  const std::set<int> before = af_xdp_sockets();
  const int plain = socket(AF_INET, SOCK_DGRAM, 0);  // not AF_XDP: never found
  const int xdp = socket(44 /* AF_XDP */, SOCK_RAW, 0);
  if (xdp < 0 && (errno == EPERM || errno == EACCES || errno == EAFNOSUPPORT)) {
    close(plain);
    GTEST_SKIP() << "cannot open an AF_XDP socket here (needs CAP_NET_RAW and a kernel with XDP)";
  }
  ASSERT_GE(xdp, 0);
  const std::set<int> after = af_xdp_sockets();
  EXPECT_EQ(new_socket(before, after), xdp);
  EXPECT_EQ(after.count(plain), 0u);
  EXPECT_EQ(new_socket(after, after), -1);
  close(xdp);
  close(plain);
}

TEST(RxWakeup, TwoNewSocketsAreAmbiguous) {
  EXPECT_EQ(new_socket({3}, {3, 7, 9}), -1);
  EXPECT_EQ(new_socket({3}, {3, 7}), 7);
}

TEST(RxWakeup, DriversAreToldByTheDeviceName) {
  EXPECT_TRUE(is_af_xdp_device("net_af_xdp0,iface=lb-cli"));
  EXPECT_TRUE(is_af_xdp_device("net_af_xdp12"));
  EXPECT_FALSE(is_af_xdp_device("net_af_xdpx,iface=a"));
  EXPECT_TRUE(is_tap_device("net_tap1,iface=fw-client"));
  EXPECT_FALSE(is_tap_device("net_pcap0,rx_pcap=a.pcap"));
  EXPECT_FALSE(is_tap_device("net_tap_x"));
}

}  // namespace
}  // namespace fairway
