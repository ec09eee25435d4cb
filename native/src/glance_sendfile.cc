// Node-API binding to sendfile(2) for the api-server's file-store downloads.
//
// Node has no zero-copy path from a file to a socket: every byte otherwise crosses into a JS Buffer and back, and
// each 64 KiB read is a round trip through the libuv pool. Here the kernel moves page-cache pages to the socket.
// The socket stays non-blocking (libuv owns it): one call sends until the socket buffer is full and reports how
// much it sent, so a pool thread never waits for a slow client; the caller waits for room through Node's own
// write path. The work runs on the libuv pool because reading a file that is not cached blocks.
//
// The caller passes a dup() of the socket (dupSocket), so that Node closing its own descriptor while a send is in
// flight cannot let the number be reused for another file; it closes the duplicate itself when done.

#include <node_api.h>
#include <sys/sendfile.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace {

napi_value makeError(napi_env env, const std::string& op, int e) {
  const char* name = strerrorname_np(e);
  const std::string text = op + ": " + std::strerror(e);
  napi_value code, message, error, errnoValue;
  napi_create_string_utf8(env, name != nullptr ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text.c_str(), text.size(), &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, e, &errnoValue);
  napi_set_named_property(env, error, "errno", errnoValue);
  return error;
}

bool argsOf(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != want) {
    napi_throw_type_error(env, nullptr, "wrong number of arguments");
    return false;
  }
  return true;
}

bool int64Arg(napi_env env, napi_value value, int64_t min, int64_t* out) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number ||
      napi_get_value_int64(env, value, out) != napi_ok || *out < min) {
    napi_throw_range_error(env, nullptr, "expected a non-negative integer");
    return false;
  }
  return true;
}

// dupSocket(fd) -> fd: a close-on-exec duplicate of a descriptor Node owns.
napi_value DupSocket(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t fd;
  if (!argsOf(env, info, 1, argv) || !int64Arg(env, argv[0], 0, &fd)) return nullptr;
  const int copy = fcntl(static_cast<int>(fd), F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    napi_throw(env, makeError(env, "dup", errno));
    return nullptr;
  }
  napi_value result;
  napi_create_int32(env, copy, &result);
  return result;
}

struct Send {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  int socketFd = -1;
  int fileFd = -1;
  int64_t offset = 0;
  int64_t count = 0;
  int64_t sent = 0;
  int error = 0;
};

void ExecuteSend(napi_env, void* data) {
  auto* s = static_cast<Send*>(data);
  off_t offset = static_cast<off_t>(s->offset);
  while (s->sent < s->count) {
    const ssize_t n = sendfile(s->socketFd, s->fileFd, &offset, static_cast<size_t>(s->count - s->sent));
    if (n > 0) {
      s->sent += n;
    } else if (n == 0) {
      // The file ended before the range did: it was truncated under us.
      if (s->sent == 0) s->error = ENODATA;
      return;
    } else if (errno != EINTR) {
      // EAGAIN: the socket buffer is full; what was sent so far is the answer. Other errors wait for the next call
      // when something was sent, so the caller always learns how far the data got.
      if (errno != EAGAIN && s->sent == 0) s->error = errno;
      return;
    }
  }
}

void CompleteSend(napi_env env, napi_status, void* data) {
  auto* s = static_cast<Send*>(data);
  if (s->error != 0) {
    napi_reject_deferred(env, s->deferred, makeError(env, "sendfile", s->error));
  } else {
    napi_value sent;
    napi_create_int64(env, s->sent, &sent);
    napi_resolve_deferred(env, s->deferred, sent);
  }
  napi_delete_async_work(env, s->work);
  delete s;
}

// sendFile(socketFd, fileFd, offset, count) -> Promise<bytes sent>; 0 when the socket buffer is full.
napi_value SendFile(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int64_t socketFd, fileFd, offset, count;
  if (!argsOf(env, info, 4, argv) || !int64Arg(env, argv[0], 0, &socketFd) ||
      !int64Arg(env, argv[1], 0, &fileFd) || !int64Arg(env, argv[2], 0, &offset) ||
      !int64Arg(env, argv[3], 1, &count)) {
    return nullptr;
  }
  auto* s = new Send();
  s->socketFd = static_cast<int>(socketFd);
  s->fileFd = static_cast<int>(fileFd);
  s->offset = offset;
  s->count = count;
  napi_value promise, name;
  napi_create_promise(env, &s->deferred, &promise);
  napi_create_string_utf8(env, "glance:sendfile", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, nullptr, name, ExecuteSend, CompleteSend, s, &s->work) != napi_ok ||
      napi_queue_async_work(env, s->work) != napi_ok) {
    delete s;
    napi_throw_error(env, nullptr, "could not queue the send");
    return nullptr;
  }
  return promise;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"dupSocket", nullptr, DupSocket, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sendFile", nullptr, SendFile, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
