// A stand-in for libcuda.so.1 and libcublas.so for the tests: the exports CudaDriver and Cublas bind, with the C
// signatures of cuda.h and cublas_v2.h, over host memory. It lets CudaContext's real code run on machines without a GPU:
// argument marshalling (kernelParams, JIT options, GEMM operands), error formatting through cuGetErrorName/String,
// context handling (calls that need a current context fail without one, as the real driver's do), and the order of
// releases. Test controls: fake_set/fake_get (named integers) and fake_log (one line per call that matters).
//
// Device "memory" is malloc'd host memory, filled with 0xCD so a missing clear shows. Kernels: cuModuleGetFunction
// finds `.entry NAME` in the loaded PTX; cuLaunchKernel runs a C++ version of the kernels it knows ("axpy",
// "record_args"). Streams and CUDA graphs: a capture records launches and cublasSgemm_v2 calls as nodes that
// cuGraphLaunch runs. cublasSgemm_v2 is the reference column-major BLAS GEMM, cublasSgemmStridedBatched a loop of it.
// cublasGetStatusName/String are left out on purpose, so the binding's own status table is exercised.

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#define EXPORT extern "C" __attribute__((visibility("default")))

typedef int CUresult;
typedef void* CUcontext;
typedef unsigned long long CUdeviceptr;

namespace {

struct Module { std::string ptx; std::map<std::string, std::string*> functions; };

std::mutex g_mutex;
std::map<std::string, long long> g_settings;
std::string g_log;
std::string g_error_name, g_error_string;
std::set<CUdeviceptr> g_allocations;
std::set<Module*> g_modules;
int g_primary_refcount = 0;
int g_cublas_handles = 0;
int g_lt_handles = 0;  // cuBLASLt handles alive
int g_lt_objects = 0;  // cuBLASLt descriptors, layouts and preferences alive
bool g_initialized = false;
thread_local std::vector<CUcontext> t_stack(1, nullptr); // back() is the thread's current context
char g_record[32 * 8];

// Streams and CUDA graphs: one stream handle (kStream); a capture on it records launches and GEMMs as nodes instead
// of running them, a synchronous call during a capture fails it (CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED) and
// invalidates it, and cuGraphLaunch runs the nodes in order.
typedef std::vector<std::function<void()>> Nodes;
void* const kStream = reinterpret_cast<void*>(0x57EA0001);
int g_streams = 0, g_graphs = 0, g_graph_execs = 0;
bool g_capturing = false, g_capture_invalid = false;
Nodes g_captured;
std::set<Nodes*> g_live_graphs, g_live_execs;
void* g_cublas_stream = nullptr;

CUcontext const kContext = reinterpret_cast<CUcontext>(0xC0DE0000);

long long setting(const char* key, long long fallback) {
    auto it = g_settings.find(key);
    return it == g_settings.end() ? fallback : it->second;
}

void log(const std::string& line) {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_log += line;
    g_log += '\n';
}

bool current() { return t_stack.back() == kContext && g_primary_refcount > 0; }

// A synchronous call during a capture: fails, and the capture with it (the real driver's global capture mode).
bool refuse_during_capture() {
    if (!g_capturing) return false;
    g_capture_invalid = true;
    log("capture invalidated");
    return true;
}


const char* name_of(CUresult r) {
    switch (r) {
        case 0: return "CUDA_SUCCESS";
        case 1: return "CUDA_ERROR_INVALID_VALUE";
        case 2: return "CUDA_ERROR_OUT_OF_MEMORY";
        case 3: return "CUDA_ERROR_NOT_INITIALIZED";
        case 100: return "CUDA_ERROR_NO_DEVICE";
        case 101: return "CUDA_ERROR_INVALID_DEVICE";
        case 201: return "CUDA_ERROR_INVALID_CONTEXT";
        case 218: return "CUDA_ERROR_INVALID_PTX";
        case 222: return "CUDA_ERROR_UNSUPPORTED_PTX_VERSION";
        case 500: return "CUDA_ERROR_NOT_FOUND";
        case 700: return "CUDA_ERROR_ILLEGAL_ADDRESS";
        case 701: return "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES";
        default: return nullptr;
    }
}

const char* string_of(CUresult r) {
    switch (r) {
        case 0: return "no error";
        case 1: return "invalid argument";
        case 2: return "out of memory";
        case 3: return "initialization error";
        case 100: return "no CUDA-capable device is detected";
        case 101: return "invalid device ordinal";
        case 201: return "invalid device context";
        case 218: return "a PTX JIT compilation failed";
        case 222: return "the provided PTX was compiled with an unsupported toolchain.";
        case 500: return "named symbol not found";
        case 700: return "an illegal memory access was encountered";
        case 701: return "too many resources requested for launch";
        default: return nullptr;
    }
}

} // namespace

// ---- test controls ----------------------------------------------------------------------------------------------

EXPORT void fake_reset() {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_settings.clear();
    g_log.clear();
}

EXPORT void fake_set(const char* key, long long value) {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_settings[key] = value;
}

EXPORT long long fake_get(const char* key) {
    std::lock_guard<std::mutex> lock(g_mutex);
    std::string k = key;
    if (k == "allocations") return (long long)g_allocations.size();
    if (k == "modules") return (long long)g_modules.size();
    if (k == "primary_refcount") return g_primary_refcount;
    if (k == "cublas_handles") return g_cublas_handles;
    if (k == "cublaslt_handles") return g_lt_handles;
    if (k == "cublaslt_objects") return g_lt_objects;
    if (k == "current") return t_stack.back() == kContext ? 1 : 0;
    if (k == "streams") return g_streams;
    if (k == "graphs") return g_graphs;
    if (k == "graph_execs") return g_graph_execs;
    return setting(key, -1);
}

EXPORT const char* fake_log() { return g_log.c_str(); }

// The raw 8-byte argument slots the last "record_args" launch received.
EXPORT const void* fake_recorded_args() { return g_record; }

// ---- driver API --------------------------------------------------------------------------------------------------

EXPORT CUresult cuInit(unsigned int flags) {
    log("cuInit");
    if (flags != 0) return 1;
    CUresult r = (CUresult)setting("init_result", 0);
    g_initialized = r == 0;
    return r;
}

EXPORT CUresult cuDriverGetVersion(int* version) { *version = (int)setting("driver_version", 12040); return 0; }

EXPORT CUresult cuDeviceGetCount(int* count) {
    if (!g_initialized) return 3;
    *count = (int)setting("device_count", 1);
    return 0;
}

EXPORT CUresult cuDeviceGet(int* device, int ordinal) {
    if (!g_initialized) return 3;
    if (ordinal < 0 || ordinal >= setting("device_count", 1)) return 101;
    *device = ordinal;
    return 0;
}

EXPORT CUresult cuDeviceGetName(char* name, int length, int device) {
    if (device < 0 || device >= setting("device_count", 1)) return 101;
    snprintf(name, (size_t)length, "Fake GPU %d", device);
    return 0;
}

EXPORT CUresult cuDeviceGetAttribute(int* value, int attribute, int device) {
    if (device < 0 || device >= setting("device_count", 1)) return 101;
    if (attribute == 75) { *value = (int)setting("cc_major", 9); return 0; }
    if (attribute == 76) { *value = (int)setting("cc_minor", 0); return 0; }
    return 1;
}

EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext* context, int device) {
    if (!g_initialized) return 3;
    if (device < 0 || device >= setting("device_count", 1)) return 101;
    g_primary_refcount++;
    *context = kContext;
    log("cuDevicePrimaryCtxRetain");
    return 0;
}

EXPORT CUresult cuDevicePrimaryCtxRelease_v2(int) {
    if (g_primary_refcount == 0) return 201;
    g_primary_refcount--;
    log("cuDevicePrimaryCtxRelease_v2");
    return 0;
}

EXPORT CUresult cuCtxSetCurrent(CUcontext context) {
    if (context != nullptr && context != kContext) return 201;
    t_stack.back() = context;
    return 0;
}

EXPORT CUresult cuCtxPushCurrent_v2(CUcontext context) {
    if (context != kContext) return 201;
    t_stack.push_back(context);
    return 0;
}

EXPORT CUresult cuCtxPopCurrent_v2(CUcontext* context) {
    if (t_stack.size() < 2) return 201;
    if (context) *context = t_stack.back();
    t_stack.pop_back();
    return 0;
}

EXPORT CUresult cuCtxSynchronize() {
    if (!current()) return 201;
    if (refuse_during_capture()) return 900;
    log("cuCtxSynchronize");
    return (CUresult)setting("sync_result", 0);
}

// The default stream (0) only; "stream_query_result" 600 (CUDA_ERROR_NOT_READY) plays a kernel still running.
EXPORT CUresult cuStreamQuery(void* stream) {
    if (!current()) return 201;
    if (stream != nullptr) return 400;
    log("cuStreamQuery");
    return (CUresult)setting("stream_query_result", 0);
}

EXPORT CUresult cuModuleLoadDataEx(void** module, const void* image, unsigned int count, const int* options, void** values) {
    if (!current()) return 201;
    std::string ptx = static_cast<const char*>(image);
    char* error_log = nullptr;
    size_t error_size = 0;
    for (unsigned i = 0; i < count; i++) {
        if (options[i] == 5) error_log = static_cast<char*>(values[i]);
        if (options[i] == 6) error_size = (size_t)(uintptr_t)values[i];
    }
    if (ptx.find("FAKE_JIT_ERROR") != std::string::npos) {
        if (error_log && error_size > 0) snprintf(error_log, error_size, "ptxas application ptx input, line 7; fatal   : fake JIT error");
        return 218;
    }
    if (ptx.find("FAKE_OLD_DRIVER") != std::string::npos) return 222;
    Module* m = new Module{ptx, {}};
    g_modules.insert(m);
    *module = m;
    log("cuModuleLoadDataEx");
    return 0;
}

EXPORT CUresult cuModuleUnload(void* module) {
    if (!current()) return 201;
    Module* m = static_cast<Module*>(module);
    if (!g_modules.erase(m)) return 400;
    for (auto& f : m->functions) delete f.second;
    delete m;
    log("cuModuleUnload");
    return 0;
}

EXPORT CUresult cuModuleGetFunction(void** function, void* module, const char* name) {
    if (!current()) return 201;
    Module* m = static_cast<Module*>(module);
    if (!g_modules.count(m)) return 400;
    std::string entry = std::string(".entry ") + name;
    size_t at = m->ptx.find(entry);
    char next = at == std::string::npos ? 0 : m->ptx[at + entry.size()];
    if (at == std::string::npos || !(next == '(' || next == ' ' || next == '\n' || next == '\r')) return 500;
    auto& slot = m->functions[name];
    if (!slot) slot = new std::string(name);
    *function = slot;
    return 0;
}

// Runs the C++ version of a kernel the stand-in knows on its argument slots.
static void run_kernel(const std::string& name, unsigned long long threads, void** params) {
    if (name == "axpy") {
        // axpy(int n, float a, const float* x, float* y): y[i] += a * x[i] for the threads of the grid
        int n = *static_cast<int*>(params[0]);
        float a = *static_cast<float*>(params[1]);
        const float* x = *static_cast<float**>(params[2]);
        float* y = *static_cast<float**>(params[3]);
        for (long long i = 0; i < n && (unsigned long long)i < threads; i++) y[i] += a * x[i];
    } else if (name == "record_args") {
        int count = (int)setting("record_count", 0);
        for (int i = 0; i < count && i < 32; i++) memcpy(g_record + 8 * i, params[i], 8);
    }
}

EXPORT CUresult cuLaunchKernel(void* function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                               unsigned shared, void* stream, void** params, void** extra) {
    if (!current()) return 201;
    if (shared != 0 || extra != nullptr) return 1;
    if (stream != nullptr && stream != kStream) return 400;
    CUresult forced = (CUresult)setting("launch_result", 0);
    if (forced != 0) return forced;
    const std::string& name = *static_cast<std::string*>(function);
    unsigned long long threads = (unsigned long long)gx * gy * gz * bx * by * bz;
    if (stream == kStream && g_capturing) {
        // A node: the argument slots copied now (8 bytes each, as the binding passes them), run at each cuGraphLaunch.
        int count = name == "axpy" ? 4 : name == "record_args" ? (int)setting("record_count", 0) : 0;
        std::vector<unsigned long long> slots(count > 32 ? 32 : count);
        for (size_t i = 0; i < slots.size(); i++) memcpy(&slots[i], params[i], 8);
        g_captured.push_back([name, threads, slots]() mutable {
            void* p[32];
            for (size_t i = 0; i < slots.size(); i++) p[i] = &slots[i];
            run_kernel(name, threads, p);
        });
        log("cuLaunchKernel " + name + " (captured)");
        return 0;
    }
    run_kernel(name, threads, params);
    if (setting("log_launches", 1)) log("cuLaunchKernel " + name);
    return 0;
}

EXPORT CUresult cuStreamCreate(void** stream, unsigned int flags) {
    if (!current()) return 201;
    if (flags != 0) return 1;
    g_streams++;
    *stream = kStream;
    log("cuStreamCreate");
    return 0;
}

EXPORT CUresult cuStreamDestroy_v2(void* stream) {
    if (!current()) return 201;
    if (stream != kStream || g_streams == 0) return 400;
    g_streams--;
    log("cuStreamDestroy_v2");
    return 0;
}

EXPORT CUresult cuStreamBeginCapture_v2(void* stream, int mode) {
    if (!current()) return 201;
    if (stream != kStream || g_streams == 0) return 400;
    if (g_capturing) return 900;
    g_capturing = true;
    g_capture_invalid = false;
    g_captured.clear();
    log("cuStreamBeginCapture_v2 mode=" + std::to_string(mode));
    return 0;
}

EXPORT CUresult cuStreamEndCapture(void* stream, void** graph) {
    if (!current()) return 201;
    if (stream != kStream || !g_capturing) return 400;
    g_capturing = false;
    *graph = nullptr;
    if (g_capture_invalid) {
        log("cuStreamEndCapture invalidated");
        return 901;
    }
    Nodes* nodes = new Nodes(g_captured);
    g_captured.clear();
    g_live_graphs.insert(nodes);
    g_graphs++;
    *graph = nodes;
    log("cuStreamEndCapture nodes=" + std::to_string(nodes->size()));
    return 0;
}

EXPORT CUresult cuGraphInstantiateWithFlags(void** exec, void* graph, unsigned long long flags) {
    if (!current()) return 201;
    Nodes* nodes = static_cast<Nodes*>(graph);
    if (!g_live_graphs.count(nodes) || flags != 0) return 400;
    CUresult forced = (CUresult)setting("instantiate_result", 0);
    if (forced != 0) return forced;
    Nodes* copy = new Nodes(*nodes);
    g_live_execs.insert(copy);
    g_graph_execs++;
    *exec = copy;
    log("cuGraphInstantiateWithFlags");
    return 0;
}

EXPORT CUresult cuGraphDestroy(void* graph) {
    Nodes* nodes = static_cast<Nodes*>(graph);
    if (!g_live_graphs.erase(nodes)) return 400;
    delete nodes;
    g_graphs--;
    log("cuGraphDestroy");
    return 0;
}

EXPORT CUresult cuGraphLaunch(void* exec, void* stream) {
    if (!current()) return 201;
    Nodes* nodes = static_cast<Nodes*>(exec);
    if (!g_live_execs.count(nodes) || (stream != nullptr && stream != kStream)) return 400;
    for (auto& node : *nodes) node();
    log("cuGraphLaunch nodes=" + std::to_string(nodes->size()));
    return 0;
}

EXPORT CUresult cuGraphExecDestroy(void* exec) {
    if (!current()) return 201;
    Nodes* nodes = static_cast<Nodes*>(exec);
    if (!g_live_execs.erase(nodes)) return 400;
    delete nodes;
    g_graph_execs--;
    log("cuGraphExecDestroy");
    return 0;
}

EXPORT CUresult cuMemAlloc_v2(CUdeviceptr* pointer, size_t bytes) {
    if (!current()) return 201;
    if (refuse_during_capture()) return 900;
    if (bytes == 0) return 1;
    if ((long long)bytes >= setting("oom_at", 1LL << 40)) return 2;
    void* memory = malloc(bytes);
    memset(memory, 0xCD, bytes);
    *pointer = (CUdeviceptr)(uintptr_t)memory;
    g_allocations.insert(*pointer);
    return 0;
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr pointer) {
    if (!current()) return 201;
    if (!g_allocations.erase(pointer)) return 1;
    free((void*)(uintptr_t)pointer);
    log("cuMemFree_v2");
    return 0;
}

EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr destination, const void* source, size_t bytes) {
    if (!current()) return 201;
    if (refuse_during_capture()) return 900;
    memcpy((void*)(uintptr_t)destination, source, bytes);
    return 0;
}

EXPORT CUresult cuMemcpyDtoH_v2(void* destination, CUdeviceptr source, size_t bytes) {
    if (!current()) return 201;
    if (refuse_during_capture()) return 900;
    memcpy(destination, (const void*)(uintptr_t)source, bytes);
    return 0;
}

EXPORT CUresult cuMemsetD8_v2(CUdeviceptr destination, unsigned char value, size_t bytes) {
    if (!current()) return 201;
    if (refuse_during_capture()) return 900;
    memset((void*)(uintptr_t)destination, value, bytes);
    return 0;
}

EXPORT CUresult cuGetErrorName(CUresult error, const char** text) {
    *text = name_of(error);
    return *text ? 0 : 1;
}

EXPORT CUresult cuGetErrorString(CUresult error, const char** text) {
    *text = string_of(error);
    return *text ? 0 : 1;
}

// ---- cuBLAS ------------------------------------------------------------------------------------------------------

EXPORT int cublasCreate_v2(void** handle) {
    if (!current()) return 1; // CUBLAS_STATUS_NOT_INITIALIZED
    int forced = (int)setting("cublas_create_status", 0);
    if (forced != 0) return forced;
    g_cublas_handles++;
    *handle = reinterpret_cast<void*>(0xB1A5);
    log("cublasCreate_v2");
    return 0;
}

EXPORT int cublasDestroy_v2(void* handle) {
    if (handle != reinterpret_cast<void*>(0xB1A5) || g_cublas_handles == 0) return 1;
    if (!current()) return 1;
    g_cublas_handles--;
    log("cublasDestroy_v2");
    return 0;
}

EXPORT int cublasSetMathMode(void*, int mode) {
    log("cublasSetMathMode " + std::to_string(mode));
    return 0;
}

EXPORT int cublasSetStream_v2(void* handle, void* stream) {
    if (handle != reinterpret_cast<void*>(0xB1A5)) return 1;
    if (stream != nullptr && stream != kStream) return 7;
    g_cublas_stream = stream;
    log(std::string("cublasSetStream_v2 ") + (stream ? "capture stream" : "default stream"));
    return 0;
}

// Column-major BLAS: C = alpha op(A) op(B) + beta C, op(A) m x k, op(B) k x n; with beta == 0, C is not read.
// Returns cuBLAS's status for the arguments (7: CUBLAS_STATUS_INVALID_VALUE), after computing nothing when not 0.
static int column_major_sgemm(int transa, int transb, int m, int n, int k, const float* alpha, const float* A, int lda,
                              const float* B, int ldb, const float* beta, float* C, int ldc) {
    if (m < 0 || n < 0 || k < 0 || ldc < (m > 1 ? m : 1)) return 7;
    if (lda < ((transa ? k : m) > 1 ? (transa ? k : m) : 1) || ldb < ((transb ? n : k) > 1 ? (transb ? n : k) : 1)) return 7;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double sum = 0;
            for (int l = 0; l < k; l++) {
                float a = transa ? A[l + (size_t)i * lda] : A[i + (size_t)l * lda];
                float b = transb ? B[j + (size_t)l * ldb] : B[l + (size_t)j * ldb];
                sum += (double)a * b;
            }
            float* c = &C[i + (size_t)j * ldc];
            *c = (float)(*alpha * sum + (*beta == 0.0f ? 0.0 : *beta * (double)*c));
        }
    return 0;
}

static std::string gemm_shape(int transa, int transb, int m, int n, int k) {
    return std::string(transa ? "T" : "N") + std::string(transb ? "T" : "N") + " m=" + std::to_string(m) +
        " n=" + std::to_string(n) + " k=" + std::to_string(k);
}

EXPORT int cublasSgemm_v2(void* handle, int transa, int transb, int m, int n, int k, const float* alpha,
                          const float* A, int lda, const float* B, int ldb, const float* beta, float* C, int ldc) {
    if (handle != reinterpret_cast<void*>(0xB1A5)) return 1;
    if (!current()) return 13;
    int forced = (int)setting("sgemm_status", 0);
    if (forced != 0) return forced;
    if (g_cublas_stream == kStream && g_capturing) {
        float a = *alpha, b = *beta;
        g_captured.push_back([=]() { column_major_sgemm(transa, transb, m, n, k, &a, A, lda, B, ldb, &b, C, ldc); });
        log("cublasSgemm_v2 " + gemm_shape(transa, transb, m, n, k) + " (captured)");
        return 0;
    }
    int status = column_major_sgemm(transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    if (status != 0) return status;
    log("cublasSgemm_v2 " + gemm_shape(transa, transb, m, n, k));
    return 0;
}

// cublasGemmEx for what the binding passes: A and B CUDA_R_16BF (14), C CUDA_R_32F (0) or CUDA_R_16BF (14),
// CUBLAS_COMPUTE_32F (68). The BF16 operands are widened to float (the upper 16 bits) and multiplied as cublasSgemm_v2
// does; a BF16 C is widened, computed in float and rounded back to nearest even; any other type or compute type is
// CUBLAS_STATUS_NOT_SUPPORTED (15). One log line with the shape and the types.
EXPORT int cublasGemmEx(void* handle, int transa, int transb, int m, int n, int k, const void* alpha, const void* A,
                        int Atype, int lda, const void* B, int Btype, int ldb, const void* beta, void* C, int Ctype,
                        int ldc, int computeType, int algo) {
    if (handle != reinterpret_cast<void*>(0xB1A5)) return 1;
    if (!current()) return 13;
    int forced = (int)setting("gemm_ex_status", 0);
    if (forced != 0) return forced;
    if (Atype != 14 || Btype != 14 || (Ctype != 0 && Ctype != 14) || computeType != 68) return 15;
    int rowsA = transa ? k : m, colsA = transa ? m : k, rowsB = transb ? n : k, colsB = transb ? k : n;
    if (m < 0 || n < 0 || k < 0) return 7;
    std::vector<float> a((size_t)(lda > 0 ? lda : 1) * (colsA > 0 ? colsA : 1)), b((size_t)(ldb > 0 ? ldb : 1) * (colsB > 0 ? colsB : 1));
    const unsigned short* a16 = static_cast<const unsigned short*>(A);
    const unsigned short* b16 = static_cast<const unsigned short*>(B);
    for (int j = 0; j < colsA; j++)
        for (int i = 0; i < rowsA; i++) {
            unsigned int u = (unsigned int)a16[i + (size_t)j * lda] << 16;
            memcpy(&a[i + (size_t)j * lda], &u, 4);
        }
    for (int j = 0; j < colsB; j++)
        for (int i = 0; i < rowsB; i++) {
            unsigned int u = (unsigned int)b16[i + (size_t)j * ldb] << 16;
            memcpy(&b[i + (size_t)j * ldb], &u, 4);
        }
    // A BF16 C (column-major m×n, leading dimension ldc) in float for the product, rounded back after it.
    std::vector<float> c32(Ctype == 14 ? (size_t)(ldc > 0 ? ldc : 1) * (n > 0 ? n : 1) : 0);
    unsigned short* c16 = static_cast<unsigned short*>(C);
    for (int j = 0; Ctype == 14 && j < n; j++)
        for (int i = 0; i < m; i++) {
            unsigned int u = (unsigned int)c16[i + (size_t)j * ldc] << 16;
            memcpy(&c32[i + (size_t)j * ldc], &u, 4);
        }
    int status = column_major_sgemm(transa, transb, m, n, k, static_cast<const float*>(alpha), a.data(), lda, b.data(), ldb,
                                    static_cast<const float*>(beta), Ctype == 14 ? c32.data() : static_cast<float*>(C), ldc);
    if (status != 0) return status;
    for (int j = 0; Ctype == 14 && j < n; j++)
        for (int i = 0; i < m; i++) {
            unsigned int u;
            memcpy(&u, &c32[i + (size_t)j * ldc], 4);
            if ((u & 0x7fffffffu) > 0x7f800000u) c16[i + (size_t)j * ldc] = (unsigned short)((u >> 16) | 0x0040u);
            else c16[i + (size_t)j * ldc] = (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
        }
    log("cublasGemmEx " + gemm_shape(transa, transb, m, n, k) + " A=16BF B=16BF C=" + (Ctype == 14 ? "16BF" : "32F") +
        " compute=32F algo=" + std::to_string(algo));
    return 0;
}

// Matrix i of A, B and C starts i * stride elements after the first; one log line for the whole batch.
EXPORT int cublasSgemmStridedBatched(void* handle, int transa, int transb, int m, int n, int k, const float* alpha,
                                     const float* A, int lda, long long strideA, const float* B, int ldb, long long strideB,
                                     const float* beta, float* C, int ldc, long long strideC, int batchCount) {
    if (handle != reinterpret_cast<void*>(0xB1A5)) return 1;
    if (!current()) return 13;
    int forced = (int)setting("sgemm_batched_status", 0);
    if (forced != 0) return forced;
    if (batchCount < 0) return 7;
    for (int i = 0; i < batchCount; i++) {
        int status = column_major_sgemm(transa, transb, m, n, k, alpha, A + i * strideA, lda, B + i * strideB, ldb, beta,
                                        C + i * strideC, ldc);
        if (status != 0) return status;
    }
    log("cublasSgemmStridedBatched " + gemm_shape(transa, transb, m, n, k) + " strideA=" + std::to_string(strideA) +
        " strideB=" + std::to_string(strideB) + " strideC=" + std::to_string(strideC) + " batch=" + std::to_string(batchCount));
    return 0;
}

// ---- cuBLASLt ----------------------------------------------------------------------------------------------------
// Descriptors are heap structs holding what the binding sets; cublasLtMatmul checks the layouts against the op flags
// (7: CUBLAS_STATUS_INVALID_VALUE when they disagree), then computes the column-major product and the epilogue exactly
// as the cuBLASLt documentation defines them (GELU: the tanh form). Types: A and B CUDA_R_32F (0) or CUDA_R_16BF (14),
// widened to float; C and D one type, CUDA_R_32F or CUDA_R_16BF; the bias (CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, 26,
// default -1: D's type) and the GELU aux matrix have D's type, anything else 7 (CUBLAS_STATUS_INVALID_VALUE) as cuBLASLt
// outside FP8; a BF16 D (and aux) is computed in float and rounded once to nearest even. Settings: "lt_heuristic_found"
// (algorithms the heuristic returns, default 1), "lt_matmul_status" (a forced status). Log: one line per matmul.

namespace {

struct LtDesc { int compute = 0, scale = 0, transa = 0, transb = 0, epilogue = 1, bias_type = -1; void* bias = nullptr; void* aux = nullptr; long long auxld = 0; };
struct LtLayout { int type = 0; unsigned long long rows = 0, cols = 0; long long ld = 0; };
struct LtPreference { unsigned long long workspace = 0; };
float gelu_tanh(float x) {
    const float k = 0.7978845608f, c = 0.044715f;
    return 0.5f * x * (1.0f + tanhf(k * (x + c * x * x * x)));
}

float gelu_tanh_grad(float x) {
    const float k = 0.7978845608f, c = 0.044715f;
    float t = tanhf(k * (x + c * x * x * x));
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * k * (1.0f + 3.0f * c * x * x);
}

// Element `at` of a CUDA_R_32F (0) or CUDA_R_16BF (14) array, as float; and a float stored into one (BF16: round to
// nearest even, a NaN kept quiet), md_bf16_from_float's rounding.
float lt_load(const void* p, int type, size_t at) {
    if (type == 0) return static_cast<const float*>(p)[at];
    unsigned int u = (unsigned int)static_cast<const unsigned short*>(p)[at] << 16;
    float v;
    memcpy(&v, &u, 4);
    return v;
}

void lt_store(void* p, int type, size_t at, float v) {
    if (type == 0) { static_cast<float*>(p)[at] = v; return; }
    unsigned int u;
    memcpy(&u, &v, 4);
    static_cast<unsigned short*>(p)[at] = (u & 0x7fffffffu) > 0x7f800000u ? (unsigned short)((u >> 16) | 0x0040u)
                                                                          : (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// A column-major rows x cols matrix (leading dimension ld) of `type`, widened to float with the same layout.
std::vector<float> lt_widen(const void* p, int type, unsigned long long rows, unsigned long long cols, long long ld) {
    std::vector<float> out((size_t)(ld > 0 ? ld : 1) * (cols > 0 ? cols : 1));
    for (size_t j = 0; j < cols; j++)
        for (size_t i = 0; i < rows; i++) out[i + j * ld] = lt_load(p, type, i + j * ld);
    return out;
}

} // namespace

EXPORT int cublasLtCreate(void** handle) {
    if (!current()) return 1;
    int forced = (int)setting("cublaslt_create_status", 0);
    if (forced != 0) return forced;
    g_lt_handles++;
    *handle = reinterpret_cast<void*>(0x17A5);
    log("cublasLtCreate");
    return 0;
}

EXPORT int cublasLtDestroy(void* handle) {
    if (handle != reinterpret_cast<void*>(0x17A5) || g_lt_handles == 0 || !current()) return 1;
    g_lt_handles--;
    log("cublasLtDestroy");
    return 0;
}

EXPORT int cublasLtMatmulDescCreate(LtDesc** desc, int compute, int scale) {
    *desc = new LtDesc();
    (*desc)->compute = compute;
    (*desc)->scale = scale;
    g_lt_objects++;
    return 0;
}

EXPORT int cublasLtMatmulDescDestroy(LtDesc* desc) { delete desc; g_lt_objects--; return 0; }

EXPORT int cublasLtMatmulDescSetAttribute(LtDesc* desc, int attribute, const void* value, size_t bytes) {
    switch (attribute) {
        case 3: if (bytes != 4) return 7; desc->transa = *(const int*)value; return 0;
        case 4: if (bytes != 4) return 7; desc->transb = *(const int*)value; return 0;
        case 7: if (bytes != 4) return 7; desc->epilogue = *(const int*)value; return 0;
        case 8: if (bytes != 8) return 7; desc->bias = *(void* const*)value; return 0;
        case 11: if (bytes != 8) return 7; desc->aux = *(void* const*)value; return 0;
        case 12: if (bytes != 8) return 7; desc->auxld = *(const long long*)value; return 0;
        case 26: if (bytes != 4) return 7; desc->bias_type = *(const int*)value; return 0;
        default: return 7;
    }
}

EXPORT int cublasLtMatrixLayoutCreate(LtLayout** layout, int type, unsigned long long rows, unsigned long long cols, long long ld) {
    *layout = new LtLayout{type, rows, cols, ld};
    g_lt_objects++;
    return 0;
}

EXPORT int cublasLtMatrixLayoutDestroy(LtLayout* layout) { delete layout; g_lt_objects--; return 0; }

EXPORT int cublasLtMatmulPreferenceCreate(LtPreference** preference) {
    *preference = new LtPreference();
    g_lt_objects++;
    return 0;
}

EXPORT int cublasLtMatmulPreferenceDestroy(LtPreference* preference) { delete preference; g_lt_objects--; return 0; }

EXPORT int cublasLtMatmulPreferenceSetAttribute(LtPreference* preference, int attribute, const void* value, size_t bytes) {
    if (attribute != 1 || bytes != 8) return 7;
    preference->workspace = *(const unsigned long long*)value;
    return 0;
}

struct LtHeuristic { unsigned long long algo[8]; size_t workspaceSize; int state; float waves; int reserved[4]; };

EXPORT int cublasLtMatmulAlgoGetHeuristic(void* handle, LtDesc*, LtLayout*, LtLayout*, LtLayout*, LtLayout*, LtPreference*,
                                          int requested, LtHeuristic* results, int* found) {
    if (handle != reinterpret_cast<void*>(0x17A5) || requested < 1) return 7;
    int count = (int)setting("lt_heuristic_found", 1);
    *found = count < requested ? count : requested;
    if (*found > 0) {
        memset(&results[0], 0, sizeof(LtHeuristic));
        results[0].algo[0] = 0xA160;
    }
    return 0;
}

EXPORT int cublasLtMatmul(void* handle, LtDesc* desc, const float* alpha, const void* A, LtLayout* a, const void* B,
                          LtLayout* b, const float* beta, const void* C, LtLayout* c, void* D, LtLayout* d,
                          const unsigned long long* algo, void* workspace, size_t workspaceBytes, void* stream) {
    if (handle != reinterpret_cast<void*>(0x17A5)) return 1;
    if (!current()) return 13;
    int forced = (int)setting("lt_matmul_status", 0);
    if (forced != 0) return forced;
    if (!algo || algo[0] != 0xA160 || stream != nullptr) return 7;
    if (desc->compute != 68 || desc->scale != 0) return 7;
    if (!((a->type == 0 && b->type == 0) || (a->type == 14 && b->type == 14)) || (c->type != 0 && c->type != 14) || d->type != c->type) return 7;
    int type = d->type; // of C, D, the bias and aux
    if (desc->bias_type != -1 && desc->bias_type != type) return 7;
    if (workspaceBytes > 0 && g_allocations.count((CUdeviceptr)(uintptr_t)workspace) == 0) return 7;
    // op(A) is m x k, op(B) is k x n: the layouts (as stored) must agree with the op flags.
    int m = (int)c->rows, n = (int)c->cols;
    int k = (int)(desc->transa ? a->rows : a->cols);
    if ((int)(desc->transa ? a->cols : a->rows) != m) return 7;
    if ((int)(desc->transb ? b->rows : b->cols) != n || (int)(desc->transb ? b->cols : b->rows) != k) return 7;
    if (d->rows != c->rows || d->cols != c->cols || C != D) return 7;
    int epilogue = desc->epilogue;
    bool gelu = epilogue == 164 || epilogue == 208;
    if (epilogue != 1 && !desc->bias) return 7;
    if (gelu && (!desc->aux || desc->auxld < m)) return 7;
    if (epilogue != 1 && epilogue != 4 && epilogue != 164 && epilogue != 208 && epilogue != 512)
        return 15; // CUBLAS_STATUS_NOT_SUPPORTED: an epilogue the binding does not use
    // Everything in float: the operands widened, D computed in a float copy (C read through it) and stored back in its type.
    std::vector<float> a32 = lt_widen(A, a->type, a->rows, a->cols, a->ld), b32 = lt_widen(B, b->type, b->rows, b->cols, b->ld);
    std::vector<float> d32 = lt_widen(D, type, d->rows, d->cols, d->ld);
    int status = column_major_sgemm(desc->transa, desc->transb, m, n, k, alpha, a32.data(), (int)a->ld, b32.data(), (int)b->ld, beta,
                                    d32.data(), (int)d->ld);
    if (status != 0) return status;
    void* bias = desc->bias;
    switch (epilogue) {
        case 1: break;
        case 4: // BIAS: one value per row of D
            for (int j = 0; j < n; j++) for (int i = 0; i < m; i++) d32[i + (size_t)j * d->ld] += lt_load(bias, type, i);
            break;
        case 164: // GELU_AUX_BIAS: aux = D + bias, D = gelu(aux) (of the float sum; aux stored in D's type)
            for (int j = 0; j < n; j++) for (int i = 0; i < m; i++) {
                float x = d32[i + (size_t)j * d->ld] + lt_load(bias, type, i);
                lt_store(desc->aux, type, i + (size_t)j * desc->auxld, x);
                d32[i + (size_t)j * d->ld] = gelu_tanh(x);
            }
            break;
        case 208: // DGELU_BGRAD: D = D * gelu'(aux), bias = row sums of D
            for (int i = 0; i < m; i++) {
                double sum = 0;
                for (int j = 0; j < n; j++) {
                    float* v = &d32[i + (size_t)j * d->ld];
                    *v *= gelu_tanh_grad(lt_load(desc->aux, type, i + (size_t)j * desc->auxld));
                    sum += *v;
                }
                lt_store(bias, type, i, (float)sum);
            }
            break;
        case 512: // BGRADB: bias = op(B) summed over k, one value per column of D
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int l = 0; l < k; l++) sum += desc->transb ? b32[j + (size_t)l * b->ld] : b32[l + (size_t)j * b->ld];
                lt_store(bias, type, j, (float)sum);
            }
            break;
    }
    for (int j = 0; j < n; j++) for (int i = 0; i < m; i++) lt_store(D, type, i + (size_t)j * d->ld, d32[i + (size_t)j * d->ld]);
    std::string types = a->type == 14 ? std::string(" A=16BF B=16BF D=") + (type == 14 ? "16BF" : "32F") +
        (desc->bias_type == -1 ? "" : " bias=" + std::string(desc->bias_type == 14 ? "16BF" : "32F")) : "";
    log("cublasLtMatmul epilogue=" + std::to_string(epilogue) + " " + gemm_shape(desc->transa, desc->transb, m, n, k) +
        (gelu ? " auxld=" + std::to_string(desc->auxld) : "") + types);
    return 0;
}
