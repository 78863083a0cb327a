// Owning wrappers over libzmq's C API for the main lcore and the ctl tool. Workers never see
// ZeroMQ. Construction and setup throw ZmqError (naming the call and the endpoint); the
// send/receive paths are noexcept and report EAGAIN and errors through return values.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace muhafiz::runtime {

class ZmqError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One per process. ZeroMQ starts its I/O thread with the first socket, and that thread
// inherits the creating thread's CPU affinity: make the sockets on the main lcore so it never
// competes with a worker's core. Destroy every socket before the context: zmq_ctx_term waits.
class ZmqContext {
 public:
  ZmqContext();
  ~ZmqContext();
  ZmqContext(const ZmqContext&) = delete;
  ZmqContext& operator=(const ZmqContext&) = delete;
  void* get() const noexcept { return ctx_; }

 private:
  void* ctx_ = nullptr;
};

class ZmqSocket {
 public:
  // type: ZMQ_REP, ZMQ_REQ, ZMQ_PUSH, ZMQ_PULL, ...
  ZmqSocket(ZmqContext& ctx, int type);
  ~ZmqSocket();
  ZmqSocket(const ZmqSocket&) = delete;
  ZmqSocket& operator=(const ZmqSocket&) = delete;

  void set_int(int option, int value, const char* what);
  void set_i64(int option, long long value, const char* what);
  void bind(const std::string& endpoint);
  void connect(const std::string& endpoint);
  void* get() const noexcept { return socket_; }

 private:
  void* socket_ = nullptr;
};

// "zmq_bind(ipc:///x): No such file or directory"
std::string zmq_error_text(const char* call, const std::string& endpoint);

// The file behind an ipc:// endpoint ("" for other transports).
std::string ipc_path(const std::string& endpoint);

}  // namespace muhafiz::runtime
