#include "dataplane/runtime/zmq_socket.h"

#include <zmq.h>

#include <cerrno>

namespace muhafiz::runtime {

std::string zmq_error_text(const char* call, const std::string& endpoint) {
  std::string text = call;
  if (!endpoint.empty()) text += "(" + endpoint + ")";
  return text + ": " + zmq_strerror(zmq_errno());
}

std::string ipc_path(const std::string& endpoint) {
  constexpr std::string_view kIpc = "ipc://";
  if (endpoint.compare(0, kIpc.size(), kIpc) != 0) return {};
  return endpoint.substr(kIpc.size());
}

ZmqContext::ZmqContext() : ctx_(zmq_ctx_new()) {
  if (ctx_ == nullptr) throw ZmqError(zmq_error_text("zmq_ctx_new", ""));
}

ZmqContext::~ZmqContext() {
  // Retried on EINTR: returning early would leak the context's I/O thread.
  while (zmq_ctx_term(ctx_) != 0 && zmq_errno() == EINTR) {
  }
}

ZmqSocket::ZmqSocket(ZmqContext& ctx, int type) : socket_(zmq_socket(ctx.get(), type)) {
  if (socket_ == nullptr) throw ZmqError(zmq_error_text("zmq_socket", ""));
}

ZmqSocket::~ZmqSocket() { zmq_close(socket_); }

void ZmqSocket::set_int(int option, int value, const char* what) {
  if (zmq_setsockopt(socket_, option, &value, sizeof value) != 0)
    throw ZmqError(zmq_error_text(what, ""));
}

void ZmqSocket::set_i64(int option, long long value, const char* what) {
  const int64_t v = value;
  if (zmq_setsockopt(socket_, option, &v, sizeof v) != 0) throw ZmqError(zmq_error_text(what, ""));
}

void ZmqSocket::bind(const std::string& endpoint) {
  if (zmq_bind(socket_, endpoint.c_str()) != 0)
    throw ZmqError(zmq_error_text("zmq_bind", endpoint));
}

void ZmqSocket::connect(const std::string& endpoint) {
  if (zmq_connect(socket_, endpoint.c_str()) != 0)
    throw ZmqError(zmq_error_text("zmq_connect", endpoint));
}

}  // namespace muhafiz::runtime
