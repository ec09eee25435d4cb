// Node-API binding to librados/librbd for the api-server's RBD store.
//
// Data moves with librbd's AIO calls straight between Node Buffers and RADOS: completions arrive on librbd's
// threads and are handed to the JS thread through one thread-safe function, so no thread waits on I/O and no
// bytes are copied here. Control operations (create, open, resize, snapshots, remove, close) block inside librbd,
// so they run as async work on the libuv pool. Every call returns a promise; failures reject with an Error whose
// `code` is the errno name (ENOENT, EEXIST, EBUSY, ...) and `errno` its positive value.
//
// Handles (cluster, pool, image) are externals. A child holds a reference to its parent so the parent cannot be
// finalized first, and a handle refuses to close while children or operations are still using it.

#include <node_api.h>
#include <rados/librados.h>
#include <rbd/librbd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

struct Cluster {
  rados_t handle = nullptr;
  int openChildren = 0;
  bool closing = false;
};

struct Pool {
  rados_ioctx_t handle = nullptr;
  Cluster* cluster = nullptr;
  napi_ref clusterRef = nullptr;
  int openChildren = 0;
  bool closed = false;
};

struct Image {
  rbd_image_t handle = nullptr;
  Pool* pool = nullptr;
  napi_ref poolRef = nullptr;
  int inflight = 0;
  bool closing = false;
};

// Per-environment state: the thread-safe function that brings AIO completions back, kept referenced (so the
// process stays alive) only while some AIO is in flight.
struct AddonState {
  napi_threadsafe_function completions = nullptr;
  int inflight = 0;
};

#define CHECK(env, call)                                        \
  do {                                                          \
    if ((call) != napi_ok) {                                    \
      napi_throw_error((env), nullptr, "Node-API call failed"); \
      return nullptr;                                           \
    }                                                           \
  } while (0)

napi_value makeError(napi_env env, const std::string& op, int r) {
  const int e = r < 0 ? -r : r;
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

napi_value undefinedValue(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value rejected(napi_env env, const std::string& op, int r) {
  napi_deferred deferred;
  napi_value promise;
  napi_create_promise(env, &deferred, &promise);
  napi_reject_deferred(env, deferred, makeError(env, op, r));
  return promise;
}

// ---- argument reading (the TypeScript wrapper passes well-typed values; these only guard against misuse) ----

bool readArgs(napi_env env, napi_callback_info info, size_t expected, napi_value* argv) {
  size_t argc = expected;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < expected) {
    napi_throw_type_error(env, nullptr, "wrong number of arguments");
    return false;
  }
  return true;
}

bool isNullish(napi_env env, napi_value value) {
  napi_valuetype type;
  napi_typeof(env, value, &type);
  return type == napi_null || type == napi_undefined;
}

bool readString(napi_env env, napi_value value, std::string* out) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, nullptr, 0, &length) != napi_ok) {
    napi_throw_type_error(env, nullptr, "expected a string");
    return false;
  }
  std::string s(length, '\0');
  napi_get_value_string_utf8(env, value, s.data(), length + 1, &length);
  if (s.find('\0') != std::string::npos) {
    napi_throw_type_error(env, nullptr, "strings passed to librbd cannot contain NUL");
    return false;
  }
  *out = std::move(s);
  return true;
}

bool readOptionalString(napi_env env, napi_value value, std::string* out, bool* present) {
  *present = !isNullish(env, value);
  return !*present || readString(env, value, out);
}

bool readUint64(napi_env env, napi_value value, uint64_t* out) {
  double d;
  if (napi_get_value_double(env, value, &d) != napi_ok || !(d >= 0) || d > 9007199254740991.0 ||
      d != static_cast<double>(static_cast<uint64_t>(d))) {
    napi_throw_range_error(env, nullptr, "expected a non-negative safe integer");
    return false;
  }
  *out = static_cast<uint64_t>(d);
  return true;
}

template <typename T>
bool readHandle(napi_env env, napi_value value, T** out) {
  void* data;
  napi_valuetype type;
  napi_typeof(env, value, &type);
  if (type != napi_external || napi_get_value_external(env, value, &data) != napi_ok) {
    napi_throw_type_error(env, nullptr, "expected an RBD handle");
    return false;
  }
  *out = static_cast<T*>(data);
  return true;
}

bool readBuffer(napi_env env, napi_value value, char** data, size_t* length) {
  bool isBuffer;
  void* raw;
  if (napi_is_buffer(env, value, &isBuffer) != napi_ok || !isBuffer ||
      napi_get_buffer_info(env, value, &raw, length) != napi_ok) {
    napi_throw_type_error(env, nullptr, "expected a Buffer");
    return false;
  }
  *data = static_cast<char*>(raw);
  return true;
}

// ---- control operations on the libuv pool ----

struct Work {
  std::string op;
  std::function<int()> execute;                        // on a pool thread; returns 0 or -errno
  std::function<napi_value(napi_env)> settle;          // on the JS thread after success; null → undefined
  std::function<void()> always;                        // on the JS thread whatever happened
  napi_ref keep = nullptr;                             // the handle the work uses, kept from finalization
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  int result = 0;
};

void executeWork(napi_env, void* data) {
  Work* w = static_cast<Work*>(data);
  w->result = w->execute();
}

void completeWork(napi_env env, napi_status status, void* data) {
  Work* w = static_cast<Work*>(data);
  if (w->always) w->always();
  if (status != napi_ok) {
    napi_reject_deferred(env, w->deferred, makeError(env, w->op, ECANCELED));
  } else if (w->result < 0) {
    napi_reject_deferred(env, w->deferred, makeError(env, w->op, w->result));
  } else {
    napi_resolve_deferred(env, w->deferred, w->settle ? w->settle(env) : undefinedValue(env));
  }
  if (w->keep != nullptr) napi_delete_reference(env, w->keep);
  napi_delete_async_work(env, w->work);
  delete w;
}

napi_value queueWork(napi_env env, Work* w, napi_value keep) {
  napi_value promise, name;
  napi_create_promise(env, &w->deferred, &promise);
  if (keep != nullptr) napi_create_reference(env, keep, 1, &w->keep);
  napi_create_string_utf8(env, w->op.c_str(), w->op.size(), &name);
  napi_create_async_work(env, nullptr, name, executeWork, completeWork, w, &w->work);
  napi_queue_async_work(env, w->work);
  return promise;
}

// Work on an open image; counted so the image cannot be closed under it.
napi_value queueImageWork(napi_env env, napi_value handle, Image* image, Work* w) {
  if (image->closing) {
    const std::string op = w->op;
    delete w;
    return rejected(env, op, EBADF);
  }
  image->inflight++;
  w->always = [image] { image->inflight--; };
  return queueWork(env, w, handle);
}

// ---- finalizers: only reached for handles the JS side dropped without closing them ----

void finalizeCluster(napi_env, void* data, void*) {
  Cluster* c = static_cast<Cluster*>(data);
  if (!c->closing) rados_shutdown(c->handle);
  delete c;
}

void finalizePool(napi_env env, void* data, void*) {
  Pool* p = static_cast<Pool*>(data);
  if (!p->closed) {
    rados_ioctx_destroy(p->handle);
    p->cluster->openChildren--;
    napi_delete_reference(env, p->clusterRef);
  }
  delete p;
}

void finalizeImage(napi_env env, void* data, void*) {
  Image* i = static_cast<Image*>(data);
  if (!i->closing) {
    rbd_close(i->handle);
    i->pool->openChildren--;
    napi_delete_reference(env, i->poolRef);
  }
  delete i;
}

// ---- cluster ----

// connect(confPath: string | null, user: string | null): Promise<Cluster>
napi_value Connect(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!readArgs(env, info, 2, argv)) return nullptr;
  std::string conf, user;
  bool hasConf, hasUser;
  if (!readOptionalString(env, argv[0], &conf, &hasConf) || !readOptionalString(env, argv[1], &user, &hasUser))
    return nullptr;
  auto handle = std::make_shared<rados_t>(nullptr);
  Work* w = new Work();
  w->op = "rados_connect";
  w->execute = [=]() {
    int r = rados_create(handle.get(), hasUser ? user.c_str() : nullptr);
    if (r < 0) return r;
    r = rados_conf_read_file(*handle, hasConf ? conf.c_str() : nullptr);
    // Written buffers stay referenced until their completion (see submitAio), so librbd need not copy them.
    if (r >= 0) r = rados_conf_set(*handle, "rbd_disable_zero_copy_writes", "false");
    // As the rbd CLI does: the cache need not write through until a first flush, because the store flushes
    // (snapshot creation, close) before it reports an image as stored.
    if (r >= 0) r = rados_conf_set(*handle, "rbd_cache_writethrough_until_flush", "false");
    if (r >= 0) r = rados_connect(*handle);
    if (r < 0) {
      rados_shutdown(*handle);
      *handle = nullptr;
    }
    return r;
  };
  w->settle = [handle](napi_env e) {
    Cluster* c = new Cluster();
    c->handle = *handle;
    napi_value external;
    napi_create_external(e, c, finalizeCluster, nullptr, &external);
    return external;
  };
  return queueWork(env, w, nullptr);
}

// clusterFsid(cluster): string — local to the handle once connected.
napi_value ClusterFsid(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Cluster* c;
  if (!readArgs(env, info, 1, argv) || !readHandle(env, argv[0], &c)) return nullptr;
  char fsid[64];
  const int r = rados_cluster_fsid(c->handle, fsid, sizeof fsid);
  if (r < 0) {
    napi_throw(env, makeError(env, "rados_cluster_fsid", r));
    return nullptr;
  }
  napi_value out;
  CHECK(env, napi_create_string_utf8(env, fsid, std::strlen(fsid), &out));
  return out;
}

// clusterConfGet(cluster, option): string | null — reads the client's in-memory configuration.
napi_value ClusterConfGet(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Cluster* c;
  std::string option;
  if (!readArgs(env, info, 2, argv) || !readHandle(env, argv[0], &c) || !readString(env, argv[1], &option))
    return nullptr;
  std::vector<char> value(256);
  int r;
  while ((r = rados_conf_get(c->handle, option.c_str(), value.data(), value.size())) == -ENAMETOOLONG)
    value.resize(value.size() * 2);
  napi_value out;
  if (r == -ENOENT) {
    CHECK(env, napi_get_null(env, &out));
  } else if (r < 0) {
    napi_throw(env, makeError(env, "rados_conf_get", r));
    return nullptr;
  } else {
    CHECK(env, napi_create_string_utf8(env, value.data(), NAPI_AUTO_LENGTH, &out));
  }
  return out;
}

// clusterShutdown(cluster): Promise<void>
napi_value ClusterShutdown(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Cluster* c;
  if (!readArgs(env, info, 1, argv) || !readHandle(env, argv[0], &c)) return nullptr;
  if (c->closing) return rejected(env, "rados_shutdown", EBADF);
  if (c->openChildren > 0) return rejected(env, "rados_shutdown", EBUSY);
  c->closing = true;
  Work* w = new Work();
  w->op = "rados_shutdown";
  w->execute = [c]() {
    rados_shutdown(c->handle);
    return 0;
  };
  return queueWork(env, w, argv[0]);
}

// ---- pool ----

// poolOpen(cluster, pool): Promise<Pool>
napi_value PoolOpen(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Cluster* c;
  std::string name;
  if (!readArgs(env, info, 2, argv) || !readHandle(env, argv[0], &c) || !readString(env, argv[1], &name))
    return nullptr;
  if (c->closing) return rejected(env, "rados_ioctx_create", EBADF);
  c->openChildren++;  // reserved now so the cluster cannot shut down under the pending open
  auto handle = std::make_shared<rados_ioctx_t>(nullptr);
  Work* w = new Work();
  w->op = "rados_ioctx_create";
  w->execute = [c, name, handle]() { return rados_ioctx_create(c->handle, name.c_str(), handle.get()); };
  w->always = [c, handle]() {
    if (*handle == nullptr) c->openChildren--;
  };
  napi_ref* keep = &w->keep;
  w->settle = [c, handle, keep](napi_env e) {
    Pool* p = new Pool();
    p->handle = *handle;
    p->cluster = c;
    // The work's reference to the cluster becomes the pool's.
    p->clusterRef = *keep;
    *keep = nullptr;
    napi_value external;
    napi_create_external(e, p, finalizePool, nullptr, &external);
    return external;
  };
  return queueWork(env, w, argv[0]);
}

// poolClose(pool): void — drops the ioctx reference; librados does no I/O for it.
napi_value PoolClose(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Pool* p;
  if (!readArgs(env, info, 1, argv) || !readHandle(env, argv[0], &p)) return nullptr;
  if (p->closed) return undefinedValue(env);
  if (p->openChildren > 0) {
    napi_throw(env, makeError(env, "rados_ioctx_destroy", EBUSY));
    return nullptr;
  }
  rados_ioctx_destroy(p->handle);
  p->closed = true;
  p->cluster->openChildren--;
  napi_delete_reference(env, p->clusterRef);
  p->clusterRef = nullptr;
  return undefinedValue(env);
}

// imageCreate(pool, name, size, order, features): Promise<void> — a format 2 image.
napi_value ImageCreate(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  Pool* p;
  std::string name;
  uint64_t size, order, features;
  if (!readArgs(env, info, 5, argv) || !readHandle(env, argv[0], &p) || !readString(env, argv[1], &name) ||
      !readUint64(env, argv[2], &size) || !readUint64(env, argv[3], &order) || !readUint64(env, argv[4], &features))
    return nullptr;
  if (p->closed) return rejected(env, "rbd_create4", EBADF);
  Work* w = new Work();
  w->op = "rbd_create4";
  w->execute = [p, name, size, order, features]() {
    rbd_image_options_t opts;
    rbd_image_options_create(&opts);
    rbd_image_options_set_uint64(opts, RBD_IMAGE_OPTION_FORMAT, 2);
    rbd_image_options_set_uint64(opts, RBD_IMAGE_OPTION_FEATURES, features);
    rbd_image_options_set_uint64(opts, RBD_IMAGE_OPTION_ORDER, order);
    const int r = rbd_create4(p->handle, name.c_str(), size, opts);
    rbd_image_options_destroy(opts);
    return r;
  };
  return queueWork(env, w, argv[0]);
}

// imageRemove(pool, name): Promise<void>
napi_value ImageRemove(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Pool* p;
  std::string name;
  if (!readArgs(env, info, 2, argv) || !readHandle(env, argv[0], &p) || !readString(env, argv[1], &name))
    return nullptr;
  if (p->closed) return rejected(env, "rbd_remove", EBADF);
  Work* w = new Work();
  w->op = "rbd_remove";
  w->execute = [p, name]() { return rbd_remove(p->handle, name.c_str()); };
  return queueWork(env, w, argv[0]);
}

// imageOpen(pool, name, snapshot: string | null, readOnly: boolean): Promise<Image>
napi_value ImageOpen(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  Pool* p;
  std::string name, snap;
  bool hasSnap, readOnly;
  if (!readArgs(env, info, 4, argv) || !readHandle(env, argv[0], &p) || !readString(env, argv[1], &name) ||
      !readOptionalString(env, argv[2], &snap, &hasSnap))
    return nullptr;
  if (napi_get_value_bool(env, argv[3], &readOnly) != napi_ok) {
    napi_throw_type_error(env, nullptr, "expected a boolean");
    return nullptr;
  }
  if (p->closed) return rejected(env, "rbd_open", EBADF);
  p->openChildren++;
  auto handle = std::make_shared<rbd_image_t>(nullptr);
  Work* w = new Work();
  w->op = readOnly ? "rbd_open_read_only" : "rbd_open";
  w->execute = [=]() {
    const char* s = hasSnap ? snap.c_str() : nullptr;
    return readOnly ? rbd_open_read_only(p->handle, name.c_str(), handle.get(), s)
                    : rbd_open(p->handle, name.c_str(), handle.get(), s);
  };
  w->always = [p, handle]() {
    if (*handle == nullptr) p->openChildren--;
  };
  napi_ref* keep = &w->keep;
  w->settle = [p, handle, keep](napi_env e) {
    Image* i = new Image();
    i->handle = *handle;
    i->pool = p;
    i->poolRef = *keep;
    *keep = nullptr;
    napi_value external;
    napi_create_external(e, i, finalizeImage, nullptr, &external);
    return external;
  };
  return queueWork(env, w, argv[0]);
}

// ---- image ----

// imageClose(image): Promise<void>
napi_value ImageClose(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Image* i;
  if (!readArgs(env, info, 1, argv) || !readHandle(env, argv[0], &i)) return nullptr;
  if (i->closing) return rejected(env, "rbd_close", EBADF);
  if (i->inflight > 0) return rejected(env, "rbd_close", EBUSY);
  i->closing = true;
  Work* w = new Work();
  w->op = "rbd_close";
  w->execute = [i]() { return rbd_close(i->handle); };
  w->always = [env, i]() {
    i->pool->openChildren--;
    napi_delete_reference(env, i->poolRef);
    i->poolRef = nullptr;
  };
  return queueWork(env, w, argv[0]);
}

// Reads an image handle and one string argument, for the snapshot calls.
bool readImageAndName(napi_env env, napi_callback_info info, napi_value* argv, Image** image, std::string* name,
                      bool* hasName) {
  return readArgs(env, info, 2, argv) && readHandle(env, argv[0], image) &&
         readOptionalString(env, argv[1], name, hasName);
}

napi_value snapshotCall(napi_env env, napi_callback_info info, const char* op,
                        int (*call)(rbd_image_t, const char*), bool nameRequired) {
  napi_value argv[2];
  Image* i;
  std::string name;
  bool hasName;
  if (!readImageAndName(env, info, argv, &i, &name, &hasName)) return nullptr;
  if (nameRequired && !hasName) {
    napi_throw_type_error(env, nullptr, "expected a snapshot name");
    return nullptr;
  }
  Work* w = new Work();
  w->op = op;
  w->execute = [i, name, hasName, call]() { return call(i->handle, hasName ? name.c_str() : nullptr); };
  return queueImageWork(env, argv[0], i, w);
}

napi_value SnapCreate(napi_env env, napi_callback_info info) {
  return snapshotCall(env, info, "rbd_snap_create", rbd_snap_create, true);
}
napi_value SnapProtect(napi_env env, napi_callback_info info) {
  return snapshotCall(env, info, "rbd_snap_protect", rbd_snap_protect, true);
}
napi_value SnapUnprotect(napi_env env, napi_callback_info info) {
  return snapshotCall(env, info, "rbd_snap_unprotect", rbd_snap_unprotect, true);
}
napi_value SnapRemove(napi_env env, napi_callback_info info) {
  return snapshotCall(env, info, "rbd_snap_remove", rbd_snap_remove, true);
}
// snapSet(image, name | null): Promise<void> — null returns to the image head.
napi_value SnapSet(napi_env env, napi_callback_info info) {
  return snapshotCall(env, info, "rbd_snap_set", rbd_snap_set, false);
}

// imageSize(image): Promise<number> — of the snapshot the image is at.
napi_value ImageSize(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Image* i;
  if (!readArgs(env, info, 1, argv) || !readHandle(env, argv[0], &i)) return nullptr;
  auto size = std::make_shared<uint64_t>(0);
  Work* w = new Work();
  w->op = "rbd_get_size";
  w->execute = [i, size]() { return rbd_get_size(i->handle, size.get()); };
  w->settle = [size](napi_env e) {
    napi_value out;
    napi_create_double(e, static_cast<double>(*size), &out);
    return out;
  };
  return queueImageWork(env, argv[0], i, w);
}

// imageResize(image, size): Promise<void>
napi_value ImageResize(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Image* i;
  uint64_t size;
  if (!readArgs(env, info, 2, argv) || !readHandle(env, argv[0], &i) || !readUint64(env, argv[1], &size))
    return nullptr;
  Work* w = new Work();
  w->op = "rbd_resize";
  w->execute = [i, size]() { return rbd_resize(i->handle, size); };
  return queueImageWork(env, argv[0], i, w);
}

// listChildren(image): Promise<Array<{ pool, image, trash }>> — clones of the snapshot the image is at.
napi_value ListChildren(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Image* i;
  if (!readArgs(env, info, 1, argv) || !readHandle(env, argv[0], &i)) return nullptr;
  auto children = std::make_shared<std::vector<rbd_linked_image_spec_t>>();
  Work* w = new Work();
  w->op = "rbd_list_children3";
  w->execute = [i, children]() {
    size_t count = 8;
    for (;;) {
      children->resize(count);
      const int r = rbd_list_children3(i->handle, children->data(), &count);
      if (r == -ERANGE) continue;
      children->resize(r < 0 ? 0 : count);
      return r;
    }
  };
  w->settle = [children](napi_env e) {
    napi_value list;
    napi_create_array_with_length(e, children->size(), &list);
    uint32_t index = 0;
    for (const rbd_linked_image_spec_t& child : *children) {
      napi_value entry, pool, image, trash;
      napi_create_object(e, &entry);
      napi_create_string_utf8(e, child.pool_name, NAPI_AUTO_LENGTH, &pool);
      napi_create_string_utf8(e, child.image_name, NAPI_AUTO_LENGTH, &image);
      napi_get_boolean(e, child.trash, &trash);
      napi_set_named_property(e, entry, "pool", pool);
      napi_set_named_property(e, entry, "image", image);
      napi_set_named_property(e, entry, "trash", trash);
      napi_set_element(e, list, index++, entry);
    }
    rbd_linked_image_spec_list_cleanup(children->data(), children->size());
    return list;
  };
  return queueImageWork(env, argv[0], i, w);
}

// ---- data: AIO ----

struct Aio {
  AddonState* state = nullptr;
  Image* image = nullptr;
  napi_ref imageRef = nullptr;
  napi_ref bufferRef = nullptr;
  napi_deferred deferred = nullptr;
  rbd_completion_t completion = nullptr;
  const char* op = nullptr;
  bool isRead = false;
};

// On a librbd thread: hand the completion to the JS thread (the queue is unbounded, so this never waits).
void aioFinished(rbd_completion_t, void* arg) {
  Aio* a = static_cast<Aio*>(arg);
  napi_call_threadsafe_function(a->state->completions, a, napi_tsfn_blocking);
}

// On the JS thread (env is null when the environment is being torn down).
void settleAio(napi_env env, napi_value, void*, void* data) {
  Aio* a = static_cast<Aio*>(data);
  const ssize_t r = rbd_aio_get_return_value(a->completion);
  rbd_aio_release(a->completion);
  if (env != nullptr) {
    if (r < 0) {
      napi_reject_deferred(env, a->deferred, makeError(env, a->op, static_cast<int>(r)));
    } else {
      napi_value value;
      if (a->isRead) {
        napi_create_double(env, static_cast<double>(r), &value);
      } else {
        napi_get_undefined(env, &value);
      }
      napi_resolve_deferred(env, a->deferred, value);
    }
    napi_delete_reference(env, a->bufferRef);
    napi_delete_reference(env, a->imageRef);
    a->image->inflight--;
    if (--a->state->inflight == 0) napi_unref_threadsafe_function(env, a->state->completions);
  }
  delete a;
}

napi_value submitAio(napi_env env, napi_callback_info info, bool isRead) {
  AddonState* state;
  napi_value argv[3];
  Image* i;
  char* data;
  size_t length;
  uint64_t offset;
  size_t argc = 3;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, reinterpret_cast<void**>(&state)) != napi_ok || argc < 3) {
    napi_throw_type_error(env, nullptr, "wrong number of arguments");
    return nullptr;
  }
  if (!readHandle(env, argv[0], &i) || !readBuffer(env, argv[1], &data, &length) || !readUint64(env, argv[2], &offset))
    return nullptr;
  const char* op = isRead ? "rbd_aio_read" : "rbd_aio_write";
  if (i->closing) return rejected(env, op, EBADF);
  Aio* a = new Aio();
  a->state = state;
  a->image = i;
  a->op = op;
  a->isRead = isRead;
  // As rbd import/export: image data is streamed once, front to back, so the OSDs need not keep it cached.
  const int flags = LIBRADOS_OP_FLAG_FADVISE_SEQUENTIAL | LIBRADOS_OP_FLAG_FADVISE_NOCACHE;
  int r = rbd_aio_create_completion(a, aioFinished, &a->completion);
  if (r >= 0) {
    r = isRead ? rbd_aio_read2(i->handle, offset, length, data, a->completion, flags)
               : rbd_aio_write2(i->handle, offset, length, data, a->completion, flags);
    if (r < 0) rbd_aio_release(a->completion);
  }
  if (r < 0) {
    delete a;
    return rejected(env, op, r);
  }
  napi_value promise;
  CHECK(env, napi_create_promise(env, &a->deferred, &promise));
  // The buffer is librbd's until the completion: keep it (and the image) from the garbage collector.
  napi_create_reference(env, argv[1], 1, &a->bufferRef);
  napi_create_reference(env, argv[0], 1, &a->imageRef);
  i->inflight++;
  if (state->inflight++ == 0) napi_ref_threadsafe_function(env, state->completions);
  return promise;
}

// aioWrite(image, buffer, offset): Promise<void>
napi_value AioWrite(napi_env env, napi_callback_info info) { return submitAio(env, info, false); }

// aioRead(image, buffer, offset): Promise<number> — bytes read into buffer (fewer past the end of the image).
napi_value AioRead(napi_env env, napi_callback_info info) { return submitAio(env, info, true); }

void finalizeState(napi_env, void* data, void*) { delete static_cast<AddonState*>(data); }

napi_value Init(napi_env env, napi_value exports) {
  AddonState* state = new AddonState();
  napi_value name;
  CHECK(env, napi_create_string_utf8(env, "glance_rbd.aio", NAPI_AUTO_LENGTH, &name));
  CHECK(env, napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, state, settleAio,
                                             &state->completions));
  CHECK(env, napi_unref_threadsafe_function(env, state->completions));
  CHECK(env, napi_set_instance_data(env, state, finalizeState, nullptr));

  const napi_property_descriptor functions[] = {
      {"connect", nullptr, Connect, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"clusterFsid", nullptr, ClusterFsid, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"clusterConfGet", nullptr, ClusterConfGet, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"clusterShutdown", nullptr, ClusterShutdown, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"poolOpen", nullptr, PoolOpen, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"poolClose", nullptr, PoolClose, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"imageCreate", nullptr, ImageCreate, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"imageRemove", nullptr, ImageRemove, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"imageOpen", nullptr, ImageOpen, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"imageClose", nullptr, ImageClose, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"imageSize", nullptr, ImageSize, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"imageResize", nullptr, ImageResize, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"snapCreate", nullptr, SnapCreate, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"snapProtect", nullptr, SnapProtect, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"snapUnprotect", nullptr, SnapUnprotect, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"snapRemove", nullptr, SnapRemove, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"snapSet", nullptr, SnapSet, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"listChildren", nullptr, ListChildren, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"aioWrite", nullptr, AioWrite, nullptr, nullptr, nullptr, napi_enumerable, state},
      {"aioRead", nullptr, AioRead, nullptr, nullptr, nullptr, napi_enumerable, state},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions));
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
