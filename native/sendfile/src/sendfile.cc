// Zero-copy file bodies: sendfile(2) from an open file to a connected socket,
// driven by threads and an epoll instance of this addon's own, so that no
// socket wait ever happens on Node's event loop or in libuv's threadpool.
//
// JavaScript hands over a transfer (socket fd, file fd, offset, length); the
// engine duplicates both descriptors (so Node closing its own can never make
// the engine write to a number reused for something else), and its threads
// run sendfile until the socket would block (EAGAIN), then wait for EPOLLOUT
// on the duplicate in the engine's epoll instance (EPOLLONESHOT: one thread
// at a time per transfer). A transfer ends when its length is sent, on an
// error, or when the file ends early; its outcome goes back to JavaScript
// through a thread-safe function. cancel() ends a transfer at once (the
// client went away): it is taken out of epoll and its duplicates closed, by
// the caller or, if a thread is in the middle of a turn on it, by that thread
// when the turn ends.
//
// One engine per process (per Node environment), made by init() on first
// use; its threads block every signal, so signals stay with Node's threads.

#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace {

// The file ended before the range did (it was truncated while being sent).
constexpr int kShortFile = -1;
// The epoll key of the stop eventfd; transfer ids start at 1.
constexpr uint64_t kStopKey = 0;
// Bytes one thread sends for one transfer before letting the others have a
// turn (the transfer is re-armed and goes to the back of the ready list).
constexpr int64_t kTurnBytes = 4 << 20;
// Largest count one sendfile call takes on Linux.
constexpr int64_t kMaxCall = 0x7ffff000;
constexpr int kMaxThreads = 64;

struct Transfer {
  uint64_t id;
  int sock;
  int file;
  off_t offset;
  int64_t remaining;
  std::atomic<int64_t> sent{0};
  // A thread is running a turn on it (not in epoll, not to be closed by cancel).
  bool busy = false;
  // Cancelled during a turn: the thread closes it when the turn ends.
  bool cancelled = false;
};

struct Outcome {
  uint64_t id;
  int64_t sent;
  int error;  // 0, an errno, or kShortFile
};

enum class Turn { kWait, kAgain, kDone, kFailed };

class Engine {
 public:
  napi_threadsafe_function done = nullptr;
  int epfd = -1;
  int stopfd = -1;
  std::vector<pthread_t> threads;
  std::mutex mu;
  std::unordered_map<uint64_t, Transfer*> transfers;
  // Transfers that have ended, until their outcome reaches JavaScript: what they sent.
  std::unordered_map<uint64_t, int64_t> ended;
  uint64_t next_id = 1;
  bool stopping = false;

  // Takes the transfer out of epoll, closes its duplicates, forgets it. Under mu.
  void Destroy(Transfer* t) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, t->sock, nullptr);
    close(t->sock);
    close(t->file);
    transfers.erase(t->id);
    delete t;
  }

  // Re-arms the transfer for one EPOLLOUT. Under mu. False when epoll refuses.
  bool Arm(Transfer* t, int op) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLOUT | EPOLLONESHOT;
    ev.data.u64 = t->id;
    return epoll_ctl(epfd, op, t->sock, &ev) == 0;
  }

  // Sends until the socket would block, the range is done, or the turn is used up.
  static Turn Pump(Transfer* t, int* error) {
    int64_t budget = kTurnBytes;
    while (t->remaining > 0) {
      if (budget <= 0) return Turn::kAgain;
      int64_t want = t->remaining < budget ? t->remaining : budget;
      if (want > kMaxCall) want = kMaxCall;
      ssize_t n = sendfile(t->sock, t->file, &t->offset, static_cast<size_t>(want));
      if (n > 0) {
        t->remaining -= n;
        budget -= n;
        t->sent.fetch_add(n, std::memory_order_relaxed);
        continue;
      }
      if (n == 0) {
        *error = kShortFile;
        return Turn::kFailed;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Turn::kWait;
      *error = errno;
      return Turn::kFailed;
    }
    return Turn::kDone;
  }

  void Report(uint64_t id, int64_t sent, int error) {
    Outcome* o = new Outcome{id, sent, error};
    if (napi_call_threadsafe_function(done, o, napi_tsfn_nonblocking) != napi_ok) delete o;
  }

  void Run() {
    for (;;) {
      struct epoll_event ev;
      int n = epoll_wait(epfd, &ev, 1, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (n == 0) continue;
      if (ev.data.u64 == kStopKey) return;  // level-triggered: every thread sees it
      uint64_t id = ev.data.u64;
      Transfer* t;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (stopping) return;
        auto it = transfers.find(id);
        if (it == transfers.end() || it->second->busy) continue;
        t = it->second;
        t->busy = true;
      }
      int error = 0;
      Turn turn = Pump(t, &error);
      std::lock_guard<std::mutex> lock(mu);
      t->busy = false;
      if (t->cancelled) {
        Destroy(t);
        continue;
      }
      if (turn == Turn::kWait || turn == Turn::kAgain) {
        if (Arm(t, EPOLL_CTL_MOD)) continue;
        error = errno;
        turn = Turn::kFailed;
      }
      int64_t sent = t->sent.load();
      Destroy(t);
      ended[id] = sent;
      Report(id, sent, turn == Turn::kDone ? 0 : error);
    }
  }

  static void* ThreadMain(void* arg) {
    static_cast<Engine*>(arg)->Run();
    return nullptr;
  }

  // Stops the threads and closes every transfer (the Node environment is going away).
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stopping = true;
    }
    uint64_t one = 1;
    ssize_t w = write(stopfd, &one, sizeof one);
    (void)w;
    for (pthread_t th : threads) pthread_join(th, nullptr);
    threads.clear();
    std::lock_guard<std::mutex> lock(mu);
    std::vector<Transfer*> left;
    for (auto& kv : transfers) left.push_back(kv.second);
    for (Transfer* t : left) Destroy(t);
    close(epfd);
    close(stopfd);
    epfd = stopfd = -1;
  }
};

// The per-environment state: the engine once init() has made it.
struct Instance {
  Engine* engine = nullptr;
};

Instance* InstanceOf(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<Instance*>(data);
}

napi_value Throw(napi_env env, const char* code, const char* message) {
  napi_throw_error(env, code, message);
  return nullptr;
}

napi_value ThrowErrno(napi_env env, const char* what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  return Throw(env, nullptr, message);
}

bool ArgInt64(napi_env env, napi_value v, int64_t* out) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_number) return false;
  return napi_get_value_int64(env, v, out) == napi_ok;
}

void CallDone(napi_env env, napi_value cb, void* context, void* data) {
  Outcome* o = static_cast<Outcome*>(data);
  Engine* e = static_cast<Engine*>(context);
  {
    std::lock_guard<std::mutex> lock(e->mu);
    e->ended.erase(o->id);
  }
  if (env != nullptr && cb != nullptr) {
    napi_value undefined, args[3];
    napi_get_undefined(env, &undefined);
    napi_create_int64(env, static_cast<int64_t>(o->id), &args[0]);
    napi_create_int64(env, o->sent, &args[1]);
    napi_create_int32(env, o->error, &args[2]);
    napi_call_function(env, undefined, cb, 3, args, nullptr);
  }
  delete o;
}

void StopEngine(void* arg) {
  Instance* inst = static_cast<Instance*>(arg);
  if (inst->engine == nullptr) return;
  inst->engine->Stop();
  napi_release_threadsafe_function(inst->engine->done, napi_tsfn_abort);
  // The engine object is left to the process: a call already queued may still name it.
  inst->engine = nullptr;
}

// init(onDone, threads): makes the engine. onDone(id, sent, error) is called
// once per transfer that ends by itself (error: 0, an errno, or -1 when the
// file ended before the range).
napi_value Init(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Instance* inst = InstanceOf(env);
  if (inst->engine != nullptr) return Throw(env, "ERR_SENDFILE_INIT", "the engine is running already");
  napi_valuetype type;
  int64_t nthreads = 0;
  if (argc < 2 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_function || !ArgInt64(env, argv[1], &nthreads) ||
      nthreads < 1 || nthreads > kMaxThreads)
    return Throw(env, "ERR_INVALID_ARG", "init(onDone: function, threads: 1-64)");

  Engine* e = new Engine();
  e->epfd = epoll_create1(EPOLL_CLOEXEC);
  e->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (e->epfd < 0 || e->stopfd < 0) {
    int err = errno;
    if (e->epfd >= 0) close(e->epfd);
    if (e->stopfd >= 0) close(e->stopfd);
    delete e;
    return ThrowErrno(env, "epoll/eventfd", err);
  }
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.u64 = kStopKey;
  epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->stopfd, &ev);

  napi_value name;
  napi_create_string_utf8(env, "outpost-sendfile", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[0], nullptr, name, 0, 1, nullptr, nullptr, e, CallDone, &e->done) != napi_ok) {
    close(e->epfd);
    close(e->stopfd);
    delete e;
    return Throw(env, "ERR_SENDFILE_INIT", "cannot make the completion callback");
  }
  // Transfers keep no process alive by themselves: their sockets do.
  napi_unref_threadsafe_function(env, e->done);

  // Threads start with every signal blocked.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int err = 0;
  for (int64_t i = 0; i < nthreads; i++) {
    pthread_t th;
    err = pthread_create(&th, nullptr, Engine::ThreadMain, e);
    if (err != 0) break;
    e->threads.push_back(th);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  inst->engine = e;
  if (err != 0 && e->threads.empty()) {
    StopEngine(inst);
    return ThrowErrno(env, "pthread_create", err);
  }
  // Registered after the thread-safe function, so it runs before Node tears that down.
  napi_add_env_cleanup_hook(env, StopEngine, inst);
  return nullptr;
}

// send(socketFd, fileFd, offset, length) → id. Both descriptors are
// duplicated; the caller keeps (and closes) its own.
napi_value Send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Engine* e = InstanceOf(env)->engine;
  if (e == nullptr) return Throw(env, "ERR_SENDFILE_INIT", "init() first");
  int64_t sock, file, offset, length;
  if (argc < 4 || !ArgInt64(env, argv[0], &sock) || !ArgInt64(env, argv[1], &file) || !ArgInt64(env, argv[2], &offset) ||
      !ArgInt64(env, argv[3], &length) || sock < 0 || file < 0 || sock > INT32_MAX || file > INT32_MAX || offset < 0 || length < 0)
    return Throw(env, "ERR_INVALID_ARG", "send(socketFd, fileFd, offset, length)");

  int s = fcntl(static_cast<int>(sock), F_DUPFD_CLOEXEC, 0);
  if (s < 0) return ThrowErrno(env, "dup socket", errno);
  int f = fcntl(static_cast<int>(file), F_DUPFD_CLOEXEC, 0);
  if (f < 0) {
    int err = errno;
    close(s);
    return ThrowErrno(env, "dup file", err);
  }
  // The flag belongs to the socket itself (libuv has set it already): never block on it.
  int flags = fcntl(s, F_GETFL);
  if (flags < 0 || (!(flags & O_NONBLOCK) && fcntl(s, F_SETFL, flags | O_NONBLOCK) < 0)) {
    int err = errno;
    close(s);
    close(f);
    return ThrowErrno(env, "socket flags", err);
  }

  Transfer* t = new Transfer();
  t->sock = s;
  t->file = f;
  t->offset = static_cast<off_t>(offset);
  t->remaining = length;
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(e->mu);
    id = t->id = e->next_id++;
    e->transfers.emplace(id, t);
    if (!e->Arm(t, EPOLL_CTL_ADD)) {
      int err = errno;
      e->Destroy(t);
      return ThrowErrno(env, "epoll_ctl", err);
    }
  }
  napi_value result;
  napi_create_int64(env, static_cast<int64_t>(id), &result);
  return result;
}

// The transfer named by the first argument (its id in *out), or null. Under mu.
Transfer* Find(Engine* e, napi_env env, napi_callback_info info, uint64_t* out = nullptr) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int64_t id = 0;
  if (out != nullptr) *out = 0;
  if (argc < 1 || !ArgInt64(env, argv[0], &id) || id <= 0) return nullptr;
  if (out != nullptr) *out = static_cast<uint64_t>(id);
  auto it = e->transfers.find(static_cast<uint64_t>(id));
  return it == e->transfers.end() ? nullptr : it->second;
}

// cancel(id) → bytes sent so far, or -1 when the transfer has ended already
// (its outcome is on its way to onDone). After a cancel, onDone is not called.
napi_value Cancel(napi_env env, napi_callback_info info) {
  Engine* e = InstanceOf(env)->engine;
  int64_t sent = -1;
  if (e != nullptr) {
    std::lock_guard<std::mutex> lock(e->mu);
    Transfer* t = Find(e, env, info);
    if (t != nullptr && !t->cancelled) {
      sent = t->sent.load();
      if (t->busy)
        t->cancelled = true;
      else
        e->Destroy(t);
    }
  }
  napi_value result;
  napi_create_int64(env, sent, &result);
  return result;
}

// progress(id) → bytes sent so far (in all, once it has ended and until its
// outcome has reached onDone), or -1 for an id the engine no longer knows.
napi_value Progress(napi_env env, napi_callback_info info) {
  Engine* e = InstanceOf(env)->engine;
  int64_t sent = -1;
  if (e != nullptr) {
    std::lock_guard<std::mutex> lock(e->mu);
    uint64_t id;
    Transfer* t = Find(e, env, info, &id);
    if (t != nullptr) {
      sent = t->sent.load();
    } else {
      auto it = e->ended.find(id);
      if (it != e->ended.end()) sent = it->second;
    }
  }
  napi_value result;
  napi_create_int64(env, sent, &result);
  return result;
}

// stats() → { threads, active }: the engine's threads and transfers in progress.
napi_value Stats(napi_env env, napi_callback_info /*info*/) {
  Engine* e = InstanceOf(env)->engine;
  int64_t threads = 0, active = 0;
  if (e != nullptr) {
    std::lock_guard<std::mutex> lock(e->mu);
    threads = static_cast<int64_t>(e->threads.size());
    active = static_cast<int64_t>(e->transfers.size());
  }
  napi_value result, v;
  napi_create_object(env, &result);
  napi_create_int64(env, threads, &v);
  napi_set_named_property(env, result, "threads", v);
  napi_create_int64(env, active, &v);
  napi_set_named_property(env, result, "active", v);
  return result;
}

void FreeInstance(napi_env /*env*/, void* data, void* /*hint*/) { delete static_cast<Instance*>(data); }

}  // namespace

NAPI_MODULE_INIT() {
  napi_set_instance_data(env, new Instance(), FreeInstance, nullptr);
  napi_property_descriptor props[] = {
      {"init", nullptr, Init, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"send", nullptr, Send, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"cancel", nullptr, Cancel, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"progress", nullptr, Progress, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"stats", nullptr, Stats, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
