// cuda_emulation.h — runs generated CUDA C on the CPU, so ModelDsl's kernels execute (and are compared with the CPU
// backend) on machines without a GPU.
//
// How it is used: EmulatedContext writes a model's generated .cu next to this header and a generated thunks.cpp
//   #include "cuda_emulation.h"
//   #include "module.cu"
//   MODELDSL_EMULATION_EXPORT int modeldsl_launch_k(...) { return cuda_emulation::launch(k, "k", ...); }
// and compiles that one translation unit with `g++ -std=c++17 -O2 -shared -fPIC -fvisibility=hidden`.
//
// Execution model:
//   - The blocks of a grid run one after another on the calling OS thread (x fastest, then y, then z).
//   - The threads of a block run as fibers on that OS thread. A thread runs until it reaches a barrier
//     (__syncthreads, __syncwarp, a __shfl_*_sync) or returns; only then does another thread run. So between barriers
//     each thread's code runs without interruption, and "atomic" operations are plain read-modify-writes.
//   - Warps are 32 consecutive threads in CUDA's linear order (x fastest). The scheduler runs one warp's lanes until
//     none of them can go on, then the next warp's.
//   - A fiber is a pooled 64 KiB stack (mmap'd, 64 KiB aligned, with a guard page at its low end) whose Fiber record
//     sits at its top, so running code finds its fiber, and so its thread, from the stack pointer alone (self()
//     below): no thread-local lookup on threadIdx. A thread takes a fiber when it starts and gives it up when it
//     returns, and a fiber whose thread returned goes straight on with the warp's next unstarted lane: a kernel
//     without barriers runs on a single stack, one function call per thread; one with barriers holds a stack per
//     waiting thread.
//   - Barrier misuse is reported, not hung on: if nothing can run but some threads wait at a barrier (some threads of
//     the block exited before a __syncthreads, or a lane named in a shuffle's mask never arrives), the launch stops
//     and returns an error naming the kernel, the block and how many threads arrived.
//   - The context switch is six pushes, a stack swap, six pops and a jump (x86-64, below); other architectures, or
//     -DMODELDSL_EMULATION_UCONTEXT, use ucontext's swapcontext, which also saves the signal mask (a system call).
//
// Supported CUDA C: __global__, __device__, __host__, __forceinline__, __noinline__, __launch_bounds__(...),
// __restrict__, __align__(n), __shared__ (static sizes), __constant__; threadIdx, blockIdx, blockDim, gridDim,
// warpSize, uint3, dim3, int2, float2, float4 (make_*); __syncthreads, __syncwarp, __activemask;
// __shfl_sync, __shfl_xor_sync, __shfl_up_sync, __shfl_down_sync (4- and 8-byte types, optional width);
// atomicAdd (float, double, int, unsigned, unsigned long long), atomicSub, atomicMax/atomicMin (int, unsigned),
// atomicExch, atomicCAS; <math.h> (expf, logf, tanhf, sqrtf, fmaxf, powf, INFINITY, ...), rsqrtf, __expf, __logf,
// __powf, __sinf, __cosf, __tanhf, __fdividef, __frcp_rn, __fsqrt_rn, __fmaf_rn, __saturatef; __ldg;
// __float_as_uint, __uint_as_float, __float_as_int, __int_as_float; __popc, __clz, __ffs; min/max on integers;
// printf; __trap().
// Tensor cores: cuda_emulation::mma_m16n8k16_bf16, what `mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32` does
// (the .cuh that uses it calls it under #ifdef MODELDSL_CUDA_EMULATION_H and inline PTX otherwise).
// Not supported: dynamic (extern) shared memory, cooperative groups, textures, half precision, streams.
// Uses GCC/Clang extensions (statement-level asm, __attribute__, __builtin_*); one translation unit per module.

#ifndef MODELDSL_CUDA_EMULATION_H
#define MODELDSL_CUDA_EMULATION_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <mutex>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#if !defined(__x86_64__) && !defined(MODELDSL_EMULATION_UCONTEXT)
#define MODELDSL_EMULATION_UCONTEXT 1
#endif
#ifdef MODELDSL_EMULATION_UCONTEXT
#include <ucontext.h>
#endif

// ---- CUDA keywords --------------------------------------------------------------------------------------------------

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __constant__
// CUDA shared memory is one array per block, seen by all of the block's threads. Here a block's threads are fibers on
// one OS thread and blocks run one after another, so a function-local static is exactly that: every fiber of the
// running block sees the same array, and the next block reuses it (CUDA shared memory starts uninitialised, so the
// leftover values are allowed). thread_local because two OS threads may run launches of the same loaded module at
// once (two contexts): each then has its own copy.
#define __shared__ static thread_local

#define MODELDSL_EMULATION_EXPORT extern "C" __attribute__((visibility("default")))

struct uint3 { unsigned x, y, z; };
struct dim3
{
    unsigned x, y, z;
    constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};
struct int2 { int x, y; };
struct __attribute__((aligned(8))) float2 { float x, y; };
struct __attribute__((aligned(16))) float4 { float x, y, z, w; };
inline int2 make_int2(int x, int y) { return {x, y}; }
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

constexpr int warpSize = 32;

namespace cuda_emulation
{

constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr size_t kStackBytes = 64 * 1024;  // per fiber; a power of two (self() masks the stack pointer with it)
constexpr size_t kGuardBytes = 4096;       // PROT_NONE at the low end: a stack overflow faults instead of corrupting

struct Launch;
struct Fiber;

// One CUDA thread of the running block.
struct Thread
{
    uint3 idx;
    unsigned warp, lane;
    unsigned parity;  // which of the warp's two shuffle slot rows this lane uses next
    Fiber* fiber;     // the stack it runs on; null before it starts and after it exits
};

// A pooled stack that runs threads. This record sits at the top of the stack.
struct Fiber
{
#ifdef MODELDSL_EMULATION_UCONTEXT
    ucontext_t context;
#else
    void* sp;  // saved stack pointer while switched out
#endif
    Launch* launch;
    Thread* thread;  // the thread it runs now
};

// One warp of the running block: lane bitmasks and the slots shuffles exchange values through.
struct Warp
{
    unsigned lanes;     // lanes that exist (the last warp of a block may be partial)
    unsigned runnable;  // lanes ready to run: not started yet, or released from a barrier
    unsigned arrived;   // lanes waiting at a warp barrier
    unsigned exited;    // lanes whose kernel function returned
    unsigned slots[2][32];
    unsigned mma_fragments[32][6];  // mma_m16n8k16_bf16: each lane's A (4) and B (2) registers
};

// The state of one kernel launch; lives on the caller's stack.
struct Launch
{
    const char* kernel;
    uint3 grid_dim, block_dim, block_idx;
    void (*body)(void*);
    void* arguments;
    unsigned thread_count, warp_count;
    unsigned waiting_at_syncthreads;
    Thread threads[kMaxThreadsPerBlock];
    Warp warps[kMaxThreadsPerBlock / 32];
    char* stacks[kMaxThreadsPerBlock];  // taken from the pool by this launch, given back at its end
    unsigned stack_count;
    Fiber* idle[kMaxThreadsPerBlock];  // fibers of this launch not running a thread of the current block
    unsigned idle_count;
#ifdef MODELDSL_EMULATION_UCONTEXT
    ucontext_t scheduler;
#else
    void* scheduler_sp;
#endif
    char* error;
    int error_capacity;
    bool failed;
};

// The running fiber: its stack is kStackBytes-aligned and its Fiber record sits at the top of it.
__attribute__((always_inline)) inline Fiber* self()
{
    uintptr_t sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    return reinterpret_cast<Fiber*>((sp & ~(uintptr_t)(kStackBytes - 1)) + kStackBytes - sizeof(Fiber));
}

__attribute__((always_inline)) inline Thread* current() { return self()->thread; }

inline Fiber* fiber_of_stack(char* stack) { return reinterpret_cast<Fiber*>(stack + kStackBytes - sizeof(Fiber)); }

// ---- Context switch -------------------------------------------------------------------------------------------------

void fiber_main();

#ifndef MODELDSL_EMULATION_UCONTEXT
// Saves the callee-saved registers of the System V x86-64 ABI on the current stack, stores the stack pointer in *save,
// switches to resume, pops the registers saved there and jumps to the return address saved there. (MXCSR and the x87
// control word are callee-saved too, but every fiber runs with the caller's, so they are left alone.) pop + jmp
// instead of ret: a ret that does not return to its call site mispredicts every time; measured 3.4 ns a switch
// instead of 10.7 (and swapcontext, which makes a sigprocmask system call, 340 ns).
asm(R"(
    .text
    .globl modeldsl_emulation_switch
    .hidden modeldsl_emulation_switch
    .type modeldsl_emulation_switch, @function
modeldsl_emulation_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    popq %rcx
    jmpq *%rcx
    .size modeldsl_emulation_switch, .-modeldsl_emulation_switch
)");
extern "C" __attribute__((visibility("hidden"))) void modeldsl_emulation_switch(void** save, void* resume);

// A fresh fiber's stack: six zero registers, then fiber_main as the return address, then a fake return address for
// fiber_main itself, so that it starts with the stack alignment of a called function.
inline void prepare(Fiber* f)
{
    void** sp = reinterpret_cast<void**>(reinterpret_cast<uintptr_t>(f) & ~(uintptr_t)15);
    *--sp = nullptr;
    *--sp = reinterpret_cast<void*>(&fiber_main);
    for (int i = 0; i < 6; i++) *--sp = nullptr;
    f->sp = sp;
}
inline void resume(Launch* l, Fiber* f) { modeldsl_emulation_switch(&l->scheduler_sp, f->sp); }
inline void suspend(Fiber* f) { modeldsl_emulation_switch(&f->sp, f->launch->scheduler_sp); }
#else
inline void prepare(Fiber* f)
{
    char* stack = reinterpret_cast<char*>(reinterpret_cast<uintptr_t>(f) & ~(uintptr_t)(kStackBytes - 1));
    getcontext(&f->context);
    f->context.uc_stack.ss_sp = stack + kGuardBytes;
    f->context.uc_stack.ss_size = (reinterpret_cast<char*>(f) - stack - kGuardBytes) & ~(size_t)15;
    f->context.uc_link = nullptr;
    makecontext(&f->context, &fiber_main, 0);
}
inline void resume(Launch* l, Fiber* f) { swapcontext(&l->scheduler, &f->context); }
inline void suspend(Fiber* f) { swapcontext(&f->context, &f->launch->scheduler); }
#endif

// Every fiber starts here with a thread to run. When that thread returns, the fiber goes straight on with the next
// lane of the same warp if that lane has not started yet: a kernel without barriers then runs a whole warp on one
// stack, one function call per thread, without a context switch. Otherwise the fiber becomes idle and goes back to
// the scheduler, which prepares it afresh before giving it another thread.
__attribute__((noinline)) inline void fiber_main()
{
    Fiber* f = self();
    Launch* l = f->launch;
    for (;;)
    {
        Thread* t = f->thread;
        l->body(l->arguments);
        Warp& w = l->warps[t->warp];
        w.exited |= 1u << t->lane;
        t->fiber = nullptr;
        if (w.runnable == 0 || l->failed) break;
        Thread* next = &l->threads[t->warp * 32 + (unsigned)__builtin_ctz(w.runnable)];
        if (next->fiber != nullptr) break;  // the next lane is waiting at a barrier on its own stack
        w.runnable &= ~(1u << next->lane);
        next->fiber = f;
        f->thread = next;
    }
    l->idle[l->idle_count++] = f;
    suspend(f);
    __builtin_unreachable();
}

// ---- Stacks ---------------------------------------------------------------------------------------------------------

// Fiber stacks, kept for the next launch. mmap'd so the untouched part of a stack costs no memory.
class StackPool
{
public:
    ~StackPool()
    {
        for (char* stack : free_) munmap(stack, kStackBytes);
    }

    // A stack, or null when memory ran out.
    char* take()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (free_.empty()) return map_stack();
        char* stack = free_.back();
        free_.pop_back();
        return stack;
    }

    void give(unsigned count, char* const* stacks)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        free_.insert(free_.end(), stacks, stacks + count);
    }

private:
    // A kStackBytes-aligned stack: map twice the size, unmap the unaligned ends, protect the guard page.
    static char* map_stack()
    {
        void* mapped = mmap(nullptr, 2 * kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mapped == MAP_FAILED) return nullptr;
        char* base = static_cast<char*>(mapped);
        char* stack = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(base) + kStackBytes - 1) & ~(uintptr_t)(kStackBytes - 1));
        if (stack > base) munmap(base, stack - base);
        if (base + 2 * kStackBytes > stack + kStackBytes) munmap(stack + kStackBytes, base + 2 * kStackBytes - (stack + kStackBytes));
        mprotect(stack, kGuardBytes, PROT_NONE);
        return stack;
    }

    std::mutex mutex_;
    std::vector<char*> free_;
};

inline StackPool& stack_pool()
{
    static StackPool pool;
    return pool;
}

// ---- Barriers -------------------------------------------------------------------------------------------------------

// Waits until every lane of (mask ∩ existing lanes) of this warp has arrived. The last lane to arrive releases the
// others and runs on without switching.
inline void warp_barrier(Fiber* f, unsigned mask)
{
    Thread* t = f->thread;
    Warp& w = f->launch->warps[t->warp];
    unsigned me = 1u << t->lane;
    unsigned members = (mask & w.lanes) | me;
    w.arrived |= me;
    if ((w.arrived & members) == members)
    {
        w.arrived &= ~members;
        w.runnable |= members & ~me;
        return;
    }
    suspend(f);
}

// Exchanges a 32-bit value among a warp's lanes: every member writes its value, all meet at a barrier, each reads the
// value of source_lane (its own when source_lane is negative or names no thread). Two slot rows used in turn keep a
// lane that has already left the barrier from overwriting a value a slower lane is still to read.
inline unsigned shuffle32(unsigned mask, unsigned value, int source_lane)
{
    Fiber* f = self();
    Thread* t = f->thread;
    Warp& w = f->launch->warps[t->warp];
    unsigned row = t->parity;
    t->parity ^= 1;
    w.slots[row][t->lane] = value;
    warp_barrier(f, mask);
    if (source_lane < 0 || source_lane >= 32 || !((w.lanes >> source_lane) & 1u)) return value;
    return w.slots[row][source_lane];
}

template <class T>
inline T shuffle(unsigned mask, T value, int source_lane)
{
    static_assert(std::is_trivially_copyable<T>::value && (sizeof(T) == 4 || sizeof(T) == 8),
        "the CUDA emulation shuffles 4- and 8-byte values");
    unsigned words[sizeof(T) / 4];
    memcpy(words, &value, sizeof(T));
    for (unsigned& word : words) word = shuffle32(mask, word, source_lane);
    memcpy(&value, words, sizeof(T));
    return value;
}

inline int lane_id() { return (int)current()->lane; }

// ---- Launch ---------------------------------------------------------------------------------------------------------

__attribute__((format(printf, 2, 3))) inline void fail(Launch* l, const char* format, ...)
{
    if (!l->failed && l->error_capacity > 0)
    {
        va_list args;
        va_start(args, format);
        vsnprintf(l->error, (size_t)l->error_capacity, format, args);
        va_end(args);
    }
    l->failed = true;
}

// Nothing can run any more but some threads have not exited: say who waits where.
inline void report_stuck_block(Launch* l)
{
    unsigned exited = 0, at_warp_barrier = 0;
    for (unsigned i = 0; i < l->warp_count; i++)
    {
        exited += (unsigned)__builtin_popcount(l->warps[i].exited);
        at_warp_barrier += (unsigned)__builtin_popcount(l->warps[i].arrived);
    }
    const uint3 b = l->block_idx;
    if (l->waiting_at_syncthreads > 0)
    {
        char also[64] = "";
        if (at_warp_barrier > 0) snprintf(also, sizeof also, " and %u wait at a warp barrier", at_warp_barrier);
        fail(l, "kernel '%s', block (%u, %u, %u): __syncthreads() reached by %u of %u threads; %u had exited%s "
                "(every thread of a block must reach each __syncthreads())",
            l->kernel, b.x, b.y, b.z, l->waiting_at_syncthreads, l->thread_count, exited, also);
        return;
    }
    for (unsigned i = 0; i < l->warp_count; i++)
    {
        const Warp& w = l->warps[i];
        if (w.arrived == 0) continue;
        fail(l, "kernel '%s', block (%u, %u, %u), warp %u: a warp barrier (__syncwarp or __shfl_*_sync) reached by "
                "%d of its %d lanes (lanes 0x%08x arrived, 0x%08x had exited; every lane named in the mask must arrive)",
            l->kernel, b.x, b.y, b.z, i, __builtin_popcount(w.arrived), __builtin_popcount(w.lanes), w.arrived, w.exited);
        return;
    }
    fail(l, "kernel '%s', block (%u, %u, %u): threads are stuck", l->kernel, b.x, b.y, b.z);
}

// A fiber to start thread t on: an idle one of this launch, else a new stack from the pool.
inline Fiber* start_fiber(Launch* l, Thread* t)
{
    Fiber* f;
    if (l->idle_count > 0)
    {
        f = l->idle[--l->idle_count];
    }
    else
    {
        char* stack = stack_pool().take();
        if (stack == nullptr)
        {
            fail(l, "kernel '%s': out of memory for fiber stacks (%u in use)", l->kernel, l->stack_count);
            return nullptr;
        }
        l->stacks[l->stack_count++] = stack;
        f = fiber_of_stack(stack);
        f->launch = l;
    }
    f->thread = t;
    t->fiber = f;
    prepare(f);
    return f;
}

// Runs one block: every thread from its start until all have exited (or nothing can run).
inline void run_block(Launch* l)
{
    for (unsigned i = 0; i < l->thread_count; i++)
    {
        l->threads[i].parity = 0;
        l->threads[i].fiber = nullptr;
    }
    for (unsigned i = 0; i < l->warp_count; i++)
    {
        Warp& w = l->warps[i];
        w.runnable = w.lanes;
        w.arrived = w.exited = 0;
    }
    l->waiting_at_syncthreads = 0;
    l->idle_count = 0;
    for (unsigned i = 0; i < l->stack_count; i++) l->idle[l->idle_count++] = fiber_of_stack(l->stacks[i]);

    bool ran = true;
    while (ran && !l->failed)
    {
        ran = false;
        for (unsigned i = 0; i < l->warp_count && !l->failed; i++)
        {
            Warp& w = l->warps[i];
            while (w.runnable != 0 && !l->failed)
            {
                unsigned lane = (unsigned)__builtin_ctz(w.runnable);
                w.runnable &= ~(1u << lane);
                Thread* t = &l->threads[i * 32 + lane];
                Fiber* f = t->fiber != nullptr ? t->fiber : start_fiber(l, t);
                if (f == nullptr) return;
                resume(l, f);
                ran = true;
            }
        }
    }
    if (l->failed) return;
    for (unsigned i = 0; i < l->warp_count; i++)
    {
        if (l->warps[i].exited != l->warps[i].lanes)
        {
            report_stuck_block(l);
            return;
        }
    }
}

inline int run_grid(const char* kernel, dim3 grid, dim3 block, void (*body)(void*), void* arguments, char* error,
    int error_capacity)
{
    static_assert(sizeof(Fiber) < 4096, "the Fiber record must fit in the top page of its stack");
    Launch l;
    l.kernel = kernel;
    l.grid_dim = {grid.x, grid.y, grid.z};
    l.block_dim = {block.x, block.y, block.z};
    l.body = body;
    l.arguments = arguments;
    l.stack_count = 0;
    l.error = error;
    l.error_capacity = error_capacity;
    l.failed = false;
    if (error_capacity > 0) error[0] = '\0';

    unsigned long long threads = (unsigned long long)block.x * block.y * block.z;
    if (grid.x == 0 || grid.y == 0 || grid.z == 0)
    {
        fail(&l, "kernel '%s': empty grid (%u, %u, %u)", kernel, grid.x, grid.y, grid.z);
        return 1;
    }
    if (grid.y > 65535 || grid.z > 65535 || grid.x > 0x7fffffffu)
    {
        fail(&l, "kernel '%s': grid (%u, %u, %u) is larger than CUDA allows (2^31-1, 65535, 65535)", kernel, grid.x, grid.y, grid.z);
        return 1;
    }
    if (threads == 0 || threads > kMaxThreadsPerBlock || block.z > 64)
    {
        fail(&l, "kernel '%s': block (%u, %u, %u) has %llu threads; CUDA allows 1 to %u (and z at most 64)",
            kernel, block.x, block.y, block.z, threads, kMaxThreadsPerBlock);
        return 1;
    }
    l.thread_count = (unsigned)threads;
    l.warp_count = (l.thread_count + 31) / 32;
    for (unsigned i = 0; i < l.thread_count; i++)
    {
        Thread& t = l.threads[i];
        t.idx = {i % block.x, (i / block.x) % block.y, i / (block.x * block.y)};
        t.warp = i / 32;
        t.lane = i % 32;
    }
    for (unsigned i = 0; i < l.warp_count; i++)
    {
        unsigned count = l.thread_count - i * 32 < 32 ? l.thread_count - i * 32 : 32;
        l.warps[i].lanes = count == 32 ? 0xffffffffu : (1u << count) - 1;
    }

    for (unsigned z = 0; z < grid.z && !l.failed; z++)
        for (unsigned y = 0; y < grid.y && !l.failed; y++)
            for (unsigned x = 0; x < grid.x && !l.failed; x++)
            {
                l.block_idx = {x, y, z};
                run_block(&l);
            }

    stack_pool().give(l.stack_count, l.stacks);
    return l.failed ? 1 : 0;
}

// The thunk for a kernel: reads each argument from its slot (cuLaunchKernel's kernelParams layout: args[i] points at
// the i-th argument's value), then runs the grid with the kernel applied to those values.
template <class... P, size_t... I>
inline std::tuple<std::decay_t<P>...> unpack(void** args, std::index_sequence<I...>)
{
    return std::tuple<std::decay_t<P>...>(*static_cast<std::decay_t<P>*>(args[I])...);
}

template <class... P>
inline int launch(void (*kernel)(P...), const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
    unsigned by, unsigned bz, void** args, char* error, int error_capacity)
{
    struct Call
    {
        void (*kernel)(P...);
        std::tuple<std::decay_t<P>...> arguments;
    };
    Call call{kernel, unpack<P...>(args, std::index_sequence_for<P...>{})};
    auto body = [](void* state) {
        Call* c = static_cast<Call*>(state);
        std::apply(c->kernel, c->arguments);
    };
    return run_grid(name, dim3(gx, gy, gz), dim3(bx, by, bz), body, &call, error, error_capacity);
}

// A kernel's parameter count; bit i of *pointer_mask is set when parameter i is a pointer (the caller checks those
// point into device memory).
template <class... P>
inline int parameters(void (*)(P...), unsigned* pointer_mask)
{
    static_assert(sizeof...(P) <= 32, "a kernel takes at most 32 parameters");
    const bool is_pointer[] = {std::is_pointer<P>::value..., false};
    *pointer_mask = 0;
    for (unsigned i = 0; i < sizeof...(P); i++)
        if (is_pointer[i]) *pointer_mask |= 1u << i;
    return (int)sizeof...(P);
}

}  // namespace cuda_emulation

// ---- Built-in variables ---------------------------------------------------------------------------------------------

#define threadIdx (static_cast<const uint3&>(::cuda_emulation::current()->idx))
#define blockIdx (static_cast<const uint3&>(::cuda_emulation::self()->launch->block_idx))
#define blockDim (static_cast<const uint3&>(::cuda_emulation::self()->launch->block_dim))
#define gridDim (static_cast<const uint3&>(::cuda_emulation::self()->launch->grid_dim))

// ---- Synchronisation and warp functions -----------------------------------------------------------------------------

// Block barrier: the last thread to arrive releases the others and runs on.
inline void __syncthreads()
{
    using namespace cuda_emulation;
    Fiber* f = self();
    Launch* l = f->launch;
    if (++l->waiting_at_syncthreads == l->thread_count)
    {
        l->waiting_at_syncthreads = 0;
        for (unsigned i = 0; i < l->warp_count; i++) l->warps[i].runnable = l->warps[i].lanes;
        l->warps[f->thread->warp].runnable &= ~(1u << f->thread->lane);
        return;
    }
    suspend(f);
}

inline void __syncwarp(unsigned mask = 0xffffffffu) { cuda_emulation::warp_barrier(cuda_emulation::self(), mask); }

inline unsigned __activemask()
{
    using namespace cuda_emulation;
    Fiber* f = self();
    const Warp& w = f->launch->warps[f->thread->warp];
    return w.lanes & ~w.exited;
}

// Stops the launch with an error (CUDA's __trap aborts the kernel).
inline void __trap()
{
    using namespace cuda_emulation;
    Fiber* f = self();
    const uint3 b = f->launch->block_idx, t = f->thread->idx;
    fail(f->launch, "kernel '%s', block (%u, %u, %u), thread (%u, %u, %u): __trap()", f->launch->kernel, b.x, b.y, b.z, t.x, t.y, t.z);
    suspend(f);
    __builtin_unreachable();
}

template <class T>
inline T __shfl_sync(unsigned mask, T var, int srcLane, int width = warpSize)
{
    int lane = cuda_emulation::lane_id();
    return cuda_emulation::shuffle(mask, var, (lane & ~(width - 1)) + (srcLane & (width - 1)));
}

template <class T>
inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize)
{
    int lane = cuda_emulation::lane_id();
    bool inside = (unsigned)(lane & (width - 1)) >= delta;
    return cuda_emulation::shuffle(mask, var, inside ? lane - (int)delta : -1);
}

template <class T>
inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize)
{
    int lane = cuda_emulation::lane_id();
    bool inside = (unsigned)(lane & (width - 1)) + delta < (unsigned)width;
    return cuda_emulation::shuffle(mask, var, inside ? lane + (int)delta : -1);
}

template <class T>
inline T __shfl_xor_sync(unsigned mask, T var, int laneMask, int width = warpSize)
{
    int lane = cuda_emulation::lane_id();
    int source = lane ^ laneMask;
    // A lane may read from its own or an earlier group of `width` lanes; from a later group it gets its own value.
    bool inside = source < (lane & ~(width - 1)) + width;
    return cuda_emulation::shuffle(mask, var, inside ? source : -1);
}

// ---- Atomics: fibers switch only at barriers, so a read-modify-write is atomic ---------------------------------------

namespace cuda_emulation
{
template <class T>
inline T fetch_add(T* address, T value)
{
    T old = *address;
    *address = old + value;
    return old;
}

template <class T>
inline T exchange(T* address, T value)
{
    T old = *address;
    *address = value;
    return old;
}
}  // namespace cuda_emulation

inline float atomicAdd(float* address, float value) { return cuda_emulation::fetch_add(address, value); }
inline double atomicAdd(double* address, double value) { return cuda_emulation::fetch_add(address, value); }
inline int atomicAdd(int* address, int value) { return cuda_emulation::fetch_add(address, value); }
inline unsigned atomicAdd(unsigned* address, unsigned value) { return cuda_emulation::fetch_add(address, value); }
inline unsigned long long atomicAdd(unsigned long long* address, unsigned long long value) { return cuda_emulation::fetch_add(address, value); }
inline int atomicSub(int* address, int value) { return cuda_emulation::fetch_add(address, -value); }
inline unsigned atomicSub(unsigned* address, unsigned value) { return cuda_emulation::fetch_add(address, 0u - value); }

inline int atomicMax(int* address, int value) { return cuda_emulation::exchange(address, *address > value ? *address : value); }
inline unsigned atomicMax(unsigned* address, unsigned value) { return cuda_emulation::exchange(address, *address > value ? *address : value); }
inline int atomicMin(int* address, int value) { return cuda_emulation::exchange(address, *address < value ? *address : value); }
inline unsigned atomicMin(unsigned* address, unsigned value) { return cuda_emulation::exchange(address, *address < value ? *address : value); }
inline int atomicExch(int* address, int value) { return cuda_emulation::exchange(address, value); }
inline unsigned atomicExch(unsigned* address, unsigned value) { return cuda_emulation::exchange(address, value); }
inline float atomicExch(float* address, float value) { return cuda_emulation::exchange(address, value); }
inline int atomicCAS(int* address, int compare, int value) { return cuda_emulation::exchange(address, *address == compare ? value : *address); }
inline unsigned atomicCAS(unsigned* address, unsigned compare, unsigned value) { return cuda_emulation::exchange(address, *address == compare ? value : *address); }
inline unsigned long long atomicCAS(unsigned long long* address, unsigned long long compare, unsigned long long value)
{
    return cuda_emulation::exchange(address, *address == compare ? value : *address);
}

// ---- Tensor cores ---------------------------------------------------------------------------------------------------

namespace cuda_emulation
{
inline float bf16_bits_to_float(unsigned bits) { float x; unsigned u = (bits & 0xffffu) << 16; memcpy(&x, &u, 4); return x; }

// d += A·B for mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32: A 16×16 and B 16×8 in BF16, C = D 16×8 in FP32,
// spread over the warp's 32 lanes by the PTX ISA's fragment layout ("Matrix Fragments for mma.m16n8k16", .bf16),
// with lane = 4·g + t (groupID g = lane >> 2, threadID_in_group t = lane % 4), each .b32 register holding two BF16
// elements, the lower column (or row, for B) in its low 16 bits:
//   a[0] = A[g][2t, 2t+1]  a[1] = A[g+8][2t, 2t+1]  a[2] = A[g][2t+8, 2t+9]  a[3] = A[g+8][2t+8, 2t+9]
//   b[0] = B[2t, 2t+1][g]  b[1] = B[2t+8, 2t+9][g]
//   d[0], d[1] = D[g][2t, 2t+1]  d[2], d[3] = D[g+8][2t, 2t+1]
// Every lane deposits its registers, all 32 meet at a warp barrier, and each rebuilds A and B from all of them by the
// layout above and computes its four elements of D (the products of BF16 values are exact in FP32; the sum runs in k
// order from C). A second barrier keeps a lane that runs ahead from overwriting registers another still reads. Like
// the instruction (.aligned), it needs the whole warp: a partial warp or a lane that never arrives stops the launch.
inline void mma_m16n8k16_bf16(float* d, const unsigned* a, const unsigned* b)
{
    Fiber* f = self();
    Thread* self_thread = f->thread;
    Warp& w = f->launch->warps[self_thread->warp];
    if (w.lanes != 0xffffffffu)
    {
        const uint3 bi = f->launch->block_idx;
        fail(f->launch, "kernel '%s', block (%u, %u, %u), warp %u: mma.sync needs all 32 lanes of a warp (the block's last warp has %d)",
            f->launch->kernel, bi.x, bi.y, bi.z, self_thread->warp, __builtin_popcount(w.lanes));
        suspend(f);
        __builtin_unreachable();
    }
    unsigned* mine = w.mma_fragments[self_thread->lane];
    for (int r = 0; r < 4; r++) mine[r] = a[r];
    mine[4] = b[0];
    mine[5] = b[1];
    warp_barrier(f, 0xffffffffu);
    float A[16][16], B[16][8];
    for (int lane = 0; lane < 32; lane++)
    {
        int g = lane >> 2, t = lane & 3;
        const unsigned* regs = w.mma_fragments[lane];
        for (int r = 0; r < 4; r++)
        {
            int row = g + 8 * (r & 1), col = 2 * t + 8 * (r >> 1);
            A[row][col] = bf16_bits_to_float(regs[r]);
            A[row][col + 1] = bf16_bits_to_float(regs[r] >> 16);
        }
        for (int r = 0; r < 2; r++)
        {
            int row = 2 * t + 8 * r;
            B[row][g] = bf16_bits_to_float(regs[4 + r]);
            B[row + 1][g] = bf16_bits_to_float(regs[4 + r] >> 16);
        }
    }
    warp_barrier(f, 0xffffffffu);
    int g = (int)self_thread->lane >> 2, t = (int)self_thread->lane & 3;
    for (int e = 0; e < 4; e++)
    {
        int row = g + 8 * (e >> 1), col = 2 * t + (e & 1);
        float sum = d[e];
        for (int k = 0; k < 16; k++) sum += A[row][k] * B[k][col];
        d[e] = sum;
    }
}
}  // namespace cuda_emulation

// ---- Math and bit intrinsics ----------------------------------------------------------------------------------------

inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanhf(float x) { return tanhf(x); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __fmaf_rn(float x, float y, float z) { return fmaf(x, y, z); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : (x == x ? x : 0.0f)); }

template <class T>
inline T __ldg(const T* address) { return *address; }

inline unsigned __float_as_uint(float x) { unsigned u; memcpy(&u, &x, 4); return u; }
inline float __uint_as_float(unsigned u) { float x; memcpy(&x, &u, 4); return x; }
inline int __float_as_int(float x) { int i; memcpy(&i, &x, 4); return i; }
inline float __int_as_float(int i) { float x; memcpy(&x, &i, 4); return x; }

inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned)x); }
inline int __ffs(int x) { return __builtin_ffs(x); }

inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline unsigned min(int a, unsigned b) { return min((unsigned)a, b); }
inline unsigned max(int a, unsigned b) { return max((unsigned)a, b); }
inline unsigned min(unsigned a, int b) { return min(a, (unsigned)b); }
inline unsigned max(unsigned a, int b) { return max(a, (unsigned)b); }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }

#endif  // MODELDSL_CUDA_EMULATION_H
