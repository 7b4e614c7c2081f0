// ModelDsl's stand-in for libnccl.so.2 in tests. THIS IS A TEST DOUBLE, NOT NCCL: it exports the NCCL calls that
// Cuda/Interop/Nccl.cs binds, with nccl.h's C signatures, so that the GPU data-parallel path (NcclCommunicator,
// GpuDataParallel, the generated GPU session's hooks) runs end to end on machines without a GPU or NCCL, on the CPU
// emulator of the GPU, whose "device memory" is host memory. It says what it is through an export NCCL does not
// have (modeldsl_nccl_standin), and the binding refuses to pair it with a real GPU (or NCCL with the emulator).
//
// How it works: the ranks are processes on one machine (mpirun's), joined through a POSIX shared-memory segment named
// in the unique id. Each rank has a staging slot there; a collective moves its buffer through the slots in chunks,
// with a barrier (per-rank generation counters) around each chunk. Every rank sums the slots in rank order, so all
// ranks get bit-identical results, as NCCL's all-reduce guarantees (NCCL's own summation order differs).
//
// Asynchrony: NCCL queues a collective on a CUDA stream and returns; the emulator has no streams (its launches run on
// the calling thread). So each communicator has a worker thread that runs the collectives in order, and
// ncclCommGetAsyncError answers ncclInProgress until they are done, as it does for an NCCL non-blocking
// communicator still queueing work. The caller's wait loop (NcclCommunicator.Wait) therefore runs as it would on a
// GPU: polling, with a deadline, and ncclCommAbort when the deadline passes.
//
// Faults, as NCCL reports them: a peer process that has exited is noticed while waiting for it (kill(pid, 0), or a
// zombie in /proc) and fails the collective with ncclRemoteError; a peer that aborted its communicator likewise.
// A peer that is alive but stalled is waited for without limit, as NCCL does: the caller's deadline ends that.
// ncclCommInitRank waits for the other ranks for MODELDSL_DISTRIBUTED_TIMEOUT seconds (default 300) at most.
//
// Not modelled: GPUs, streams, CUDA graphs, other data types and operations than float32 sums, more than one
// machine, ncclGroupStart/End, and NCCL's performance. Build: g++ -std=c++17 -O2 -shared -fPIC -pthread.

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXPORT extern "C" __attribute__((visibility("default")))

typedef enum {
    ncclSuccess = 0,
    ncclUnhandledCudaError = 1,
    ncclSystemError = 2,
    ncclInternalError = 3,
    ncclInvalidArgument = 4,
    ncclInvalidUsage = 5,
    ncclRemoteError = 6,
    ncclInProgress = 7,
} ncclResult_t;

typedef struct { char internal[128]; } ncclUniqueId;  // NCCL_UNIQUE_ID_BYTES
typedef struct Comm* ncclComm_t;
typedef void* cudaStream_t;
typedef int ncclDataType_t;
typedef int ncclRedOp_t;

namespace {

constexpr ncclDataType_t kFloat32 = 7;
constexpr ncclRedOp_t kSum = 0;
constexpr int kMaxRanks = 16;
constexpr size_t kChunkFloats = size_t(1) << 16;  // 256 KiB per rank and chunk
constexpr char kMagic[] = "modeldsl-nccl-standin-1";

// What the unique id holds: a marker and the shared-memory segment's name.
struct Id {
    char magic[sizeof(kMagic)];
    char name[96];
};
static_assert(sizeof(Id) <= sizeof(ncclUniqueId), "the id must fit in ncclUniqueId");

// The shared segment: a header, then one slot of kChunkFloats floats per rank. ftruncate zero-fills it. The atomics
// are lock-free and address-free, so they work across processes.
struct Header {
    std::atomic<int32_t> pid[kMaxRanks];       // 0 until the rank has joined
    std::atomic<uint64_t> arrived[kMaxRanks];  // the last barrier generation each rank reached
    std::atomic<int32_t> aborted_by;           // 1 + the rank that called ncclCommAbort, 0 when none did
};
static_assert(std::atomic<int32_t>::is_always_lock_free && std::atomic<uint64_t>::is_always_lock_free, "cross-process atomics");

enum class OpKind { AllReduce, Broadcast };

struct Op {
    OpKind kind;
    const float* send;
    float* receive;
    size_t count;
    int root;
};

}  // namespace

struct Comm {
    int rank = 0;
    int nranks = 0;
    Header* header = nullptr;
    float* slots = nullptr;
    size_t bytes = 0;
    uint64_t generation = 0;  // the worker's barrier count

    std::atomic<int> async_error{ncclSuccess};
    std::atomic<int> pending{0};
    std::atomic<bool> aborting{false};

    std::mutex mutex;  // guards queue, stop and last_error
    std::condition_variable wake;
    std::deque<Op> queue;
    bool stop = false;
    std::string last_error;
    std::thread worker;

    float* slot(int r) const { return slots + size_t(r) * kChunkFloats; }
};

namespace {

std::mutex g_error_mutex;
std::string g_last_error;                 // errors with no communicator (init, arguments)
thread_local std::string t_error_copy;    // what ncclGetLastError hands out, stable until the thread's next call

ncclResult_t fail(Comm* comm, ncclResult_t result, const std::string& text) {
    std::string message = "NCCL stand-in (test double): " + text;
    if (comm != nullptr) {
        std::lock_guard<std::mutex> lock(comm->mutex);
        comm->last_error = message;
    } else {
        std::lock_guard<std::mutex> lock(g_error_mutex);
        g_last_error = message;
    }
    return result;
}

double timeout_seconds() {
    const char* text = std::getenv("MODELDSL_DISTRIBUTED_TIMEOUT");
    double seconds = text != nullptr ? std::atof(text) : 0;
    return seconds > 0 ? seconds : 300;
}

// A process that has exited: gone (ESRCH), or a zombie not yet reaped by mpirun.
bool process_gone(int pid) {
    if (pid <= 0) return false;
    if (kill(pid, 0) != 0 && errno == ESRCH) return true;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE* file = std::fopen(path, "r");
    if (file == nullptr) return false;
    char state = 0;
    // "pid (comm) S ...": the state follows the last ')'.
    char line[512];
    if (std::fgets(line, sizeof line, file) != nullptr) {
        const char* close = std::strrchr(line, ')');
        if (close != nullptr && close[1] == ' ') state = close[2];
    }
    std::fclose(file);
    return state == 'Z' || state == 'X';
}

// Waits until every rank has reached this rank's next generation. Returns ncclSuccess, or the error that ended the
// wait: this communicator aborted, a peer aborted, or a peer process exited.
ncclResult_t barrier(Comm* comm) {
    uint64_t generation = ++comm->generation;
    comm->header->arrived[comm->rank].store(generation, std::memory_order_release);
    for (int r = 0; r < comm->nranks; r++) {
        unsigned spins = 0;
        while (comm->header->arrived[r].load(std::memory_order_acquire) < generation) {
            if (comm->aborting.load(std::memory_order_relaxed)) return fail(comm, ncclInvalidUsage, "the communicator was aborted");
            int aborted = comm->header->aborted_by.load(std::memory_order_relaxed);
            if (aborted != 0)
                return fail(comm, ncclRemoteError, "rank " + std::to_string(aborted - 1) + " aborted its communicator");
            if (++spins % 256 == 0) {
                int pid = comm->header->pid[r].load(std::memory_order_relaxed);
                if (process_gone(pid))
                    return fail(comm, ncclRemoteError, "rank " + std::to_string(r) + " (pid " + std::to_string(pid) + ") has exited");
            }
            if (spins < 2048) sched_yield();
            else usleep(50);
        }
    }
    return ncclSuccess;
}

ncclResult_t run(Comm* comm, const Op& op) {
    for (size_t offset = 0; offset < op.count; offset += kChunkFloats) {
        size_t n = op.count - offset < kChunkFloats ? op.count - offset : kChunkFloats;
        if (op.kind == OpKind::AllReduce) {
            std::memcpy(comm->slot(comm->rank), op.send + offset, n * sizeof(float));
            if (ncclResult_t r = barrier(comm)) return r;
            for (size_t i = 0; i < n; i++) {
                float sum = comm->slot(0)[i];
                for (int r = 1; r < comm->nranks; r++) sum += comm->slot(r)[i];
                op.receive[offset + i] = sum;
            }
        } else {
            if (comm->rank == op.root) std::memcpy(comm->slot(op.root), op.send + offset, n * sizeof(float));
            if (ncclResult_t r = barrier(comm)) return r;
            if (comm->rank == op.root) {
                if (op.receive != op.send) std::memmove(op.receive + offset, op.send + offset, n * sizeof(float));
            } else {
                std::memcpy(op.receive + offset, comm->slot(op.root), n * sizeof(float));
            }
        }
        // Nobody writes a slot again before every rank has read this chunk.
        if (ncclResult_t r = barrier(comm)) return r;
    }
    return ncclSuccess;
}

// The communicator's "stream": runs the queued collectives in order. After an error nothing more runs (NCCL's
// communicator is unusable after an asynchronous error too).
void work(Comm* comm) {
    while (true) {
        Op op;
        {
            std::unique_lock<std::mutex> lock(comm->mutex);
            comm->wake.wait(lock, [comm] { return comm->stop || !comm->queue.empty(); });
            if (comm->queue.empty()) return;
            op = comm->queue.front();
            comm->queue.pop_front();
        }
        if (comm->async_error.load() == ncclSuccess && !comm->aborting.load()) {
            ncclResult_t result = run(comm, op);
            if (result != ncclSuccess) {
                int expected = ncclSuccess;
                comm->async_error.compare_exchange_strong(expected, result);
            }
        }
        comm->pending.fetch_sub(1);
    }
}

void release(Comm* comm) {
    {
        std::lock_guard<std::mutex> lock(comm->mutex);
        comm->stop = true;
    }
    comm->wake.notify_all();
    if (comm->worker.joinable()) comm->worker.join();
    if (comm->header != nullptr) munmap(comm->header, comm->bytes);
    delete comm;
}

ncclResult_t enqueue(Comm* comm, const Op& op, const char* call) {
    if (comm == nullptr) return fail(nullptr, ncclInvalidArgument, std::string(call) + ": comm is NULL");
    if (int error = comm->async_error.load()) return static_cast<ncclResult_t>(error);
    if (op.count > 0 && (op.send == nullptr || op.receive == nullptr))
        return fail(comm, ncclInvalidArgument, std::string(call) + ": a NULL buffer");
    comm->pending.fetch_add(1);
    {
        std::lock_guard<std::mutex> lock(comm->mutex);
        comm->queue.push_back(op);
    }
    comm->wake.notify_one();
    return ncclSuccess;
}

}  // namespace

// What this library is, for logs and for the binding's pairing check. NCCL has no such export.
EXPORT const char* modeldsl_nccl_standin() {
    return "ModelDsl's NCCL stand-in for tests: shared memory on one machine, for the CPU emulator; not NCCL";
}

EXPORT ncclResult_t ncclGetVersion(int* version) {
    if (version == nullptr) return fail(nullptr, ncclInvalidArgument, "ncclGetVersion: version is NULL");
    *version = 0;  // claims no NCCL version
    return ncclSuccess;
}

EXPORT ncclResult_t ncclGetUniqueId(ncclUniqueId* unique) {
    if (unique == nullptr) return fail(nullptr, ncclInvalidArgument, "ncclGetUniqueId: uniqueId is NULL");
    static std::atomic<unsigned> counter{0};
    Id id{};
    std::memcpy(id.magic, kMagic, sizeof kMagic);
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    std::snprintf(id.name, sizeof id.name, "/modeldsl-nccl-standin-%d-%u-%llx", static_cast<int>(getpid()),
                  counter.fetch_add(1), static_cast<unsigned long long>(now));
    std::memset(unique, 0, sizeof *unique);
    std::memcpy(unique->internal, &id, sizeof id);
    return ncclSuccess;
}

EXPORT ncclResult_t ncclCommInitRank(ncclComm_t* out, int nranks, ncclUniqueId unique, int rank) {
    if (out == nullptr) return fail(nullptr, ncclInvalidArgument, "ncclCommInitRank: comm is NULL");
    *out = nullptr;
    Id id;
    std::memcpy(&id, unique.internal, sizeof id);
    if (std::memcmp(id.magic, kMagic, sizeof kMagic) != 0)
        return fail(nullptr, ncclInvalidArgument, "ncclCommInitRank: the unique id was not made by this stand-in's ncclGetUniqueId");
    id.name[sizeof id.name - 1] = 0;
    if (nranks < 1 || nranks > kMaxRanks)
        return fail(nullptr, ncclInvalidArgument, "ncclCommInitRank: nranks " + std::to_string(nranks) + " (the stand-in takes 1 to " + std::to_string(kMaxRanks) + ")");
    if (rank < 0 || rank >= nranks)
        return fail(nullptr, ncclInvalidArgument, "ncclCommInitRank: rank " + std::to_string(rank) + " of " + std::to_string(nranks));

    auto* comm = new Comm();
    comm->rank = rank;
    comm->nranks = nranks;
    comm->bytes = sizeof(Header) + size_t(nranks) * kChunkFloats * sizeof(float);
    int fd = shm_open(id.name, O_CREAT | O_RDWR, 0600);
    if (fd < 0) {
        delete comm;
        return fail(nullptr, ncclSystemError, std::string("shm_open(") + id.name + "): " + std::strerror(errno));
    }
    // Every rank sizes it the same, so whichever comes first creates it and the others change nothing.
    if (ftruncate(fd, static_cast<off_t>(comm->bytes)) != 0) {
        int error = errno;
        close(fd);
        delete comm;
        return fail(nullptr, ncclSystemError, std::string("ftruncate(") + id.name + "): " + std::strerror(error));
    }
    void* memory = mmap(nullptr, comm->bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (memory == MAP_FAILED) {
        delete comm;
        return fail(nullptr, ncclSystemError, std::string("mmap(") + id.name + "): " + std::strerror(errno));
    }
    comm->header = static_cast<Header*>(memory);
    comm->slots = reinterpret_cast<float*>(static_cast<char*>(memory) + sizeof(Header));
    comm->header->pid[rank].store(static_cast<int32_t>(getpid()));

    // Blocks until every rank has joined, as ncclCommInitRank does; bounded, since a rank that never comes would
    // otherwise hold the others forever.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds());
    for (int r = 0; r < nranks; r++) {
        while (comm->header->pid[r].load() == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                release(comm);
                if (rank == 0) shm_unlink(id.name);
                return fail(nullptr, ncclSystemError,
                            "ncclCommInitRank: rank " + std::to_string(r) + " did not join within " + std::to_string(static_cast<int>(timeout_seconds())) + " s");
            }
            usleep(200);
        }
    }
    // Every rank has it mapped: the name can go, so nothing is left in /dev/shm when the job ends however it ends.
    if (rank == 0) shm_unlink(id.name);
    comm->worker = std::thread(work, comm);
    *out = comm;
    return ncclSuccess;
}

EXPORT ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                                  ncclRedOp_t op, ncclComm_t comm, cudaStream_t /* stream: the emulator has none */) {
    if (comm != nullptr && datatype != kFloat32)
        return fail(comm, ncclInvalidArgument, "ncclAllReduce: datatype " + std::to_string(datatype) + " (the stand-in reduces ncclFloat32 only)");
    if (comm != nullptr && op != kSum)
        return fail(comm, ncclInvalidArgument, "ncclAllReduce: op " + std::to_string(op) + " (the stand-in sums only)");
    return enqueue(comm, Op{OpKind::AllReduce, static_cast<const float*>(sendbuff), static_cast<float*>(recvbuff), count, 0}, "ncclAllReduce");
}

EXPORT ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, int root,
                                  ncclComm_t comm, cudaStream_t /* stream */) {
    if (comm != nullptr && datatype != kFloat32)
        return fail(comm, ncclInvalidArgument, "ncclBroadcast: datatype " + std::to_string(datatype) + " (the stand-in copies ncclFloat32 only)");
    if (comm != nullptr && (root < 0 || root >= comm->nranks))
        return fail(comm, ncclInvalidArgument, "ncclBroadcast: root " + std::to_string(root) + " of " + std::to_string(comm->nranks) + " ranks");
    return enqueue(comm, Op{OpKind::Broadcast, static_cast<const float*>(sendbuff), static_cast<float*>(recvbuff), count, root}, "ncclBroadcast");
}

EXPORT ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* error) {
    if (comm == nullptr || error == nullptr) return fail(comm, ncclInvalidArgument, "ncclCommGetAsyncError: NULL argument");
    int value = comm->async_error.load();
    *error = value != ncclSuccess ? static_cast<ncclResult_t>(value) : comm->pending.load() > 0 ? ncclInProgress : ncclSuccess;
    return ncclSuccess;
}

// Waits for the queued collectives (which end by themselves unless a peer is alive and stalled: abort then).
EXPORT ncclResult_t ncclCommDestroy(ncclComm_t comm) {
    if (comm == nullptr) return fail(nullptr, ncclInvalidArgument, "ncclCommDestroy: comm is NULL");
    release(comm);
    return ncclSuccess;
}

// Stops the pending collective at once and tells the peers (their waits end with ncclRemoteError).
EXPORT ncclResult_t ncclCommAbort(ncclComm_t comm) {
    if (comm == nullptr) return ncclSuccess;
    comm->aborting.store(true);
    int none = 0;
    comm->header->aborted_by.compare_exchange_strong(none, comm->rank + 1);
    release(comm);
    return ncclSuccess;
}

EXPORT const char* ncclGetErrorString(ncclResult_t result) {
    switch (result) {
        case ncclSuccess: return "no error";
        case ncclUnhandledCudaError: return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
        case ncclSystemError: return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
        case ncclInternalError: return "internal error - please report this issue to the NCCL developers";
        case ncclInvalidArgument: return "invalid argument (run with NCCL_DEBUG=WARN for details)";
        case ncclInvalidUsage: return "invalid usage (run with NCCL_DEBUG=WARN for details)";
        case ncclRemoteError: return "remote process exited or there was a network error";
        case ncclInProgress: return "NCCL operation in progress";
        default: return "unknown result code";
    }
}

EXPORT const char* ncclGetLastError(ncclComm_t comm) {
    if (comm != nullptr) {
        std::lock_guard<std::mutex> lock(comm->mutex);
        t_error_copy = comm->last_error;
    } else {
        std::lock_guard<std::mutex> lock(g_error_mutex);
        t_error_copy = g_last_error;
    }
    return t_error_copy.c_str();
}
