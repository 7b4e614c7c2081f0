using System;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace ModelDsl.Runtime.Cpu;

/// <summary>
/// A unit of parallel work for <see cref="CpuWorkers.Run{TJob}(in TJob, int)"/>: a struct whose
/// <see cref="Run"/> is called once for every index in [0, count), from several threads at once.
/// </summary>
/// <remarks>
/// The job is copied once into a per-type slot before the workers start, so <see cref="Run"/> must not
/// rely on mutating the job's own fields (write results through pointers, arrays or spans it holds).
/// </remarks>
public interface IParallelJob
{
    void Run(int index);
}

/// <summary>
/// A preallocated, reusable unit of parallel work for <see cref="CpuWorkers.Run(ParallelJob, int)"/>.
/// Allocate one instance up front (for example in a generated model's constructor), fill its fields
/// before each dispatch, and pass it again every step: dispatching allocates nothing.
/// </summary>
public abstract class ParallelJob
{
    /// <summary>Runs one index of the parallel-for; called concurrently from several threads.</summary>
    public abstract void Run(int index);
}

/// <summary>
/// A small persistent pool of CPU worker threads running allocation-free parallel-for loops.
/// </summary>
/// <remarks>
/// <para><b>No-allocation contract.</b> After the pool has started (the first dispatch) and, for the
/// struct form, after the first dispatch of each job type, <see cref="Run{TJob}(in TJob, int)"/> and
/// <see cref="Run(ParallelJob, int)"/> allocate nothing on the managed heap, neither on the calling
/// thread nor on the workers: no closures, delegates, tasks or boxes. Only the failure path (an
/// exception thrown by a job) allocates, to rethrow it on the caller.</para>
/// <para><b>Execution.</b> The calling thread takes part in the loop; indexes are handed out one at a
/// time by an atomic counter, so uneven tiles balance themselves. Idle workers spin briefly for the
/// next dispatch and then sleep. A dispatch issued while another is running (from another thread, or
/// nested inside a job) runs inline on its caller, so nesting cannot deadlock.</para>
/// <para><b>Exceptions.</b> The first exception thrown by any index is rethrown on the caller (with
/// its original stack trace) once every running index has finished; indexes not yet started are skipped.</para>
/// </remarks>
public static class CpuWorkers
{
    // Ticket = (generation << 32) | next index. Workers claim an index with a CAS that also checks the
    // generation, so a worker that wakes late cannot run an index of a newer dispatch with an old job.
    private static long _ticket;
    private static int _generation;
    private static int _count;
    private static int _remaining;
    private static JobRunner? _runner;
    private static Exception? _error;
    private static int _busy;
    private static int _sleepers;

    private static int _threadCount;
    private static int _started;
    private static readonly object StartLock = new();
    private static readonly SemaphoreSlim Wake = new(0, int.MaxValue);
    private static readonly ManualResetEventSlim Done = new(false, 0);

    /// <summary>How long idle threads spin before sleeping, in Stopwatch ticks (about 200 µs).</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000;

    /// <summary>
    /// The number of threads taking part in a dispatch, the caller included. Defaults to
    /// <see cref="Environment.ProcessorCount"/>; 1 runs every loop inline on the caller.
    /// </summary>
    public static int ThreadCount
    {
        get
        {
            int n = Volatile.Read(ref _threadCount);
            return n != 0 ? n : Math.Max(1, Environment.ProcessorCount);
        }
    }

    /// <summary>
    /// Sets the thread count once, before the first dispatch. Setting the same value again is allowed.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="threadCount"/> is below 1.</exception>
    /// <exception cref="InvalidOperationException">When the count was already set to another value, or the pool already started.</exception>
    public static void Configure(int threadCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1);
        lock (StartLock)
        {
            if (_threadCount != 0 || _started != 0)
            {
                if (ThreadCount == threadCount) return;
                throw new InvalidOperationException(
                    $"CpuWorkers thread count is already fixed at {ThreadCount}; Configure must be called once, before the first dispatch.");
            }
            Volatile.Write(ref _threadCount, threadCount);
        }
    }

    /// <summary>
    /// Runs <c>job.Run(i)</c> for every i in [0, <paramref name="count"/>) on up to
    /// <paramref name="maxThreads"/> threads (≤ 0: <see cref="ThreadCount"/>), and returns when all are done.
    /// </summary>
    public static void Run<TJob>(in TJob job, int count, int maxThreads = 0) where TJob : struct, IParallelJob
    {
        if (count <= 0) return;
        // Read before TryBegin: the runner (one per job type) is created on the first call whether or not it runs in
        // parallel, so a job type whose first parallel dispatch comes late (the pool was busy until then) does not
        // allocate in the middle of a warm loop.
        var runner = StructRunner<TJob>.Instance;
        if (count == 1 || !TryBegin(maxThreads))
        {
            for (int i = 0; i < count; i++) job.Run(i);
            return;
        }
        runner.Job = job; // the pool is ours from TryBegin until Dispatch clears the job and releases it
        Dispatch(runner, count);
    }

    /// <summary>
    /// Runs <c>job.Run(i)</c> for every i in [0, <paramref name="count"/>) on up to
    /// <paramref name="maxThreads"/> threads (≤ 0: <see cref="ThreadCount"/>), and returns when all are done.
    /// </summary>
    public static void Run(ParallelJob job, int count, int maxThreads = 0)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (count <= 0) return;
        if (count == 1 || !TryBegin(maxThreads))
        {
            for (int i = 0; i < count; i++) job.Run(i);
            return;
        }
        var runner = ClassRunner.Instance;
        runner.Job = job;
        Dispatch(runner, count);
    }

    /// <summary>True when a parallel dispatch can go ahead (more than one thread, pool free); takes the pool.</summary>
    private static bool TryBegin(int maxThreads)
    {
        int threads = ThreadCount;
        if (maxThreads > 0 && maxThreads < threads) threads = maxThreads;
        if (threads <= 1) return false;
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0) return false;
        if (Volatile.Read(ref _started) == 0) Start();
        // maxThreads below the pool size only limits how many workers are woken for this dispatch.
        _wakeLimit = threads - 1;
        return true;
    }

    private static int _wakeLimit;

    private static void Start()
    {
        lock (StartLock)
        {
            if (_started != 0) return;
            // ManualResetEventSlim creates its lock object on the first wait that blocks, which would put a
            // one-time 24-byte allocation on whichever later dispatch first waits. A timed wait here (the event is
            // unset, so it blocks and times out) creates it now, as part of starting the pool.
            Done.Wait(1);
            int workers = ThreadCount - 1;
            _workerAllocated = new long[workers + 1];
            for (int w = 0; w < workers; w++)
            {
                var thread = new Thread(WorkerLoop, 256 * 1024)
                {
                    IsBackground = true,
                    Name = "ModelDsl CPU worker " + (w + 1),
                };
                thread.Start();
            }
            Volatile.Write(ref _started, 1);
        }
    }

    private static void Dispatch(JobRunner runner, int count)
    {
        try
        {
            // Close the previous generation first: a late worker still holding it, which may read this
            // dispatch's runner and count, then finds no index to claim.
            Interlocked.Exchange(ref _ticket, ((long)_generation << 32) | int.MaxValue);
            _runner = runner;
            _count = count;
            _error = null;
            Volatile.Write(ref _remaining, count);
            Done.Reset();
            int generation = _generation + 1;
            // Publishing the ticket opens the new generation; workers read runner and count after it.
            Interlocked.Exchange(ref _ticket, (long)generation << 32);
            Volatile.Write(ref _generation, generation);
            WakeSleepers();

            Work(generation, runner, count);

            if (Volatile.Read(ref _remaining) != 0)
            {
                long until = Stopwatch.GetTimestamp() + SpinTicks;
                while (Volatile.Read(ref _remaining) != 0)
                {
                    if (Stopwatch.GetTimestamp() > until)
                    {
                        // A late Set from an earlier dispatch can wake this wait early: loop on _remaining.
                        while (Volatile.Read(ref _remaining) != 0)
                        {
                            Done.Wait();
                            Done.Reset();
                        }
                        break;
                    }
                    Thread.SpinWait(8);
                }
            }

            var error = _error;
            if (error != null)
            {
                _error = null;
                ExceptionDispatchInfo.Capture(error).Throw();
            }
        }
        finally
        {
            // Clear the job while the pool is still ours: cleared after the release, a caller that has since taken
            // the pool and set the same runner's job (one runner per job type) would have its job wiped mid-dispatch.
            runner.Clear();
            _runner = null;
            Volatile.Write(ref _busy, 0);
        }
    }

    private static void WakeSleepers()
    {
        int sleepers = Volatile.Read(ref _sleepers);
        if (sleepers == 0) return;
        sleepers = Interlocked.Exchange(ref _sleepers, 0);
        if (sleepers > 0) Wake.Release(sleepers);
    }

    /// <summary>Claims and runs indexes of <paramref name="generation"/> until none are left.</summary>
    private static void Work(int generation, JobRunner runner, int count)
    {
        while (true)
        {
            long ticket = Volatile.Read(ref _ticket);
            if ((int)(ticket >> 32) != generation) return;
            int index = (int)ticket;
            if (index >= count) return;
            if (Interlocked.CompareExchange(ref _ticket, ticket + 1, ticket) != ticket) continue;

            if (Volatile.Read(ref _error) == null)
            {
                try { runner.Run(index); }
                catch (Exception ex) { Interlocked.CompareExchange(ref _error, ex, null); }
            }
            if (Interlocked.Decrement(ref _remaining) == 0) Done.Set();
        }
    }

    private static void WorkerLoop()
    {
        int seen = 0;
        int myIndex = Interlocked.Increment(ref _workerIds);
        while (true)
        {
            // Wait for a new generation: spin first, then sleep on the semaphore.
            int generation = Volatile.Read(ref _generation);
            if (generation == seen)
            {
                long until = Stopwatch.GetTimestamp() + SpinTicks;
                while ((generation = Volatile.Read(ref _generation)) == seen)
                {
                    if (Stopwatch.GetTimestamp() > until)
                    {
                        Interlocked.Increment(ref _sleepers);
                        if ((generation = Volatile.Read(ref _generation)) != seen) break; // leaves a spare permit: harmless
                        Wake.Wait();
                        until = Stopwatch.GetTimestamp() + SpinTicks;
                        continue;
                    }
                    Thread.SpinWait(8);
                }
            }
            seen = generation;
            if (myIndex <= Volatile.Read(ref _wakeLimit)) // else this dispatch asked for fewer threads
            {
                var runner = Volatile.Read(ref _runner);
                int count = Volatile.Read(ref _count);
                if (runner != null) Work(generation, runner, count);
            }
            Volatile.Write(ref _workerAllocated[myIndex], GC.GetAllocatedBytesForCurrentThread());
        }
    }

    private static int _workerIds;
    private static long[] _workerAllocated = Array.Empty<long>();

    /// <summary>
    /// Bytes allocated so far on the worker threads (as last recorded by each worker after a dispatch):
    /// a diagnostic that lets tests check that workers allocate nothing per dispatch.
    /// </summary>
    public static long WorkerAllocatedBytes
    {
        get
        {
            long total = 0;
            var slots = Volatile.Read(ref _workerAllocated);
            for (int i = 0; i < slots.Length; i++) total += Volatile.Read(ref slots[i]);
            return total;
        }
    }

    private abstract class JobRunner
    {
        public abstract void Run(int index);
        /// <summary>Drops the job (and what it references) once its dispatch is over.</summary>
        public abstract void Clear();
    }

    private sealed class StructRunner<TJob> : JobRunner where TJob : struct, IParallelJob
    {
        public static readonly StructRunner<TJob> Instance = new();
        public TJob Job;
        public override void Run(int index) => Job.Run(index);
        public override void Clear() => Job = default;
    }

    private sealed class ClassRunner : JobRunner
    {
        public static readonly ClassRunner Instance = new();
        public ParallelJob? Job;
        public override void Run(int index) => Job!.Run(index);
        public override void Clear() => Job = null;
    }
}
