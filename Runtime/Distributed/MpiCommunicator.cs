using System;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace ModelDsl.Runtime.Distributed;

/// <summary>
/// <c>MPI_COMM_WORLD</c> of an <c>mpirun</c>-launched job: rank, size and the collectives data-parallel training uses
/// (sum all-reduce, broadcast, barrier), each with a deadline. One per process (MPI initializes once).
/// <code>
/// using var world = MpiCommunicator.Initialize();        // MPI_Init_thread; libmpi is loaded here, not before
/// world.AllreduceSum(gradients, "gradients");             // in place, on every rank
/// </code>
/// </summary>
/// <remarks>
/// <para><b>Errors.</b> The communicator's error handler is set to <c>MPI_ERRORS_RETURN</c>, so a failing call returns
/// its code instead of killing the process, and every code is checked: a failure becomes a
/// <see cref="DistributedException"/> naming the call, the rank and MPI's own text.</para>
/// <para><b>Watchdog.</b> Every collective is posted non-blocking (<c>MPI_Iallreduce</c>, <c>MPI_Ibcast</c>,
/// <c>MPI_Ibarrier</c>) and polled with <c>MPI_Test</c> against <see cref="Timeout"/>, never waited on blindly. A rank
/// whose collective times out sends an alarm to every other rank; the ranks that are also waiting see it (they probe
/// for it while they wait) and answer, so within <see cref="AlarmGrace"/> every healthy rank knows which ranks did
/// not answer. Each throws an exception naming them; <see cref="Dispose"/> then calls <c>MPI_Abort</c>, which ends the
/// job, the stalled rank included. A rank that dies outright is usually caught earlier by Open MPI itself: mpirun
/// notices the exit and kills the job, printing the rank ("mpirun noticed that process rank 1 ... exited on signal 9").</para>
/// </remarks>
public sealed unsafe class MpiCommunicator : IDisposable
{
    /// <summary>How long a collective may wait before the job is declared stuck; settable per job.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    /// <summary><c>MODELDSL_DISTRIBUTED_TIMEOUT</c>: the default timeout in seconds, for every program at once.</summary>
    public const string TimeoutVariable = "MODELDSL_DISTRIBUTED_TIMEOUT";

    /// <summary>A collective polls back to back this long (a peer a few microseconds behind), then yields between polls.</summary>
    private static readonly TimeSpan SpinTime = TimeSpan.FromTicks(TimeSpan.TicksPerMillisecond / 10);

    /// <summary>After this long the wait is for a straggler, not a round trip: 1 ms sleeps between polls.</summary>
    private static readonly TimeSpan YieldTime = TimeSpan.FromMilliseconds(200);

    private const int AlarmTag = 0x4D44; // "MD": point-to-point alarms of the watchdog; below every MPI_TAG_UB (>= 32767)
    private const int MPI_ANY_SOURCE = -1;

    private static MpiCommunicator? s_world;
    private static readonly object s_lock = new();

    private readonly MpiLibrary _mpi;
    private long _sequence;
    private int[]? _alarmBuffers;
    private bool _faulted, _disposed;

    private MpiCommunicator(MpiLibrary mpi, int rank, int size, TimeSpan timeout)
    {
        _mpi = mpi;
        Rank = rank;
        Size = size;
        Timeout = timeout;
    }

    /// <summary>This process's rank, 0 ≤ Rank &lt; Size.</summary>
    public int Rank { get; }

    /// <summary>The number of processes in the job.</summary>
    public int Size { get; }

    /// <summary>Rank 0: the one that logs, evaluates for output and writes checkpoints.</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>The longest a collective may wait for the other ranks.</summary>
    public TimeSpan Timeout { get; set; }

    /// <summary>After a timeout, how long a rank waits for the other waiting ranks to answer its alarm.</summary>
    public TimeSpan AlarmGrace { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>The loaded libmpi and its version line.</summary>
    public string Library => $"{_mpi.Library} ({_mpi.Version()})";

    /// <summary>
    /// Loads libmpi (on first use only) and initializes MPI (<c>MPI_Init_thread</c>, serialized threading: calls may
    /// come from any thread, one at a time). Returns the one communicator of the process on later calls.
    /// </summary>
    /// <exception cref="DistributedUnavailableException">No Open MPI library could be loaded.</exception>
    public static MpiCommunicator Initialize(TimeSpan? timeout = null)
    {
        lock (s_lock)
        {
            if (s_world is { _disposed: false } world) return world;
            if (s_world is not null)
                throw new InvalidOperationException("MPI was finalized in this process and cannot be initialized again (MPI allows one MPI_Init per process).");
            var mpi = MpiLibrary.Shared;
            int initialized = 0, provided = 0, rank = 0, size = 0;
            Check(mpi, mpi.Initialized(&initialized), "MPI_Initialized", -1);
            if (initialized == 0) Check(mpi, mpi.Init_thread(null, null, MpiLibrary.MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread", -1);
            Check(mpi, mpi.Comm_set_errhandler(mpi.CommWorld, mpi.ErrorsReturn), "MPI_Comm_set_errhandler", -1);
            Check(mpi, mpi.Comm_rank(mpi.CommWorld, &rank), "MPI_Comm_rank", -1);
            Check(mpi, mpi.Comm_size(mpi.CommWorld, &size), "MPI_Comm_size", rank);
            s_world = new MpiCommunicator(mpi, rank, size, timeout ?? TimeoutFromEnvironment());
            return s_world;
        }
    }

    /// <summary>True when this process was started by Open MPI's mpirun (it sets <c>OMPI_COMM_WORLD_SIZE</c>).</summary>
    public static bool LaunchedByMpirun => Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is { Length: > 0 };

    /// <summary>
    /// This process's rank among the job's ranks on this machine (<c>OMPI_COMM_WORLD_LOCAL_RANK</c>; 0 outside mpirun):
    /// the GPU it trains on, one rank per GPU.
    /// </summary>
    public static int LocalRank =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_RANK"), NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : 0;

    /// <summary>Ranks of this job on this machine (<c>OMPI_COMM_WORLD_LOCAL_SIZE</c>; 1 outside mpirun): they share its cores.</summary>
    public static int RanksOnThisMachine =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE"), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : 1;

    private static TimeSpan TimeoutFromEnvironment() =>
        Environment.GetEnvironmentVariable(TimeoutVariable) is { Length: > 0 } text
            ? double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds > 0
                ? TimeSpan.FromSeconds(seconds)
                : throw new ArgumentException($"{TimeoutVariable}='{text}' is not a positive number of seconds.")
            : DefaultTimeout;

    /// <summary>Sums <paramref name="data"/> over all ranks, in place; <paramref name="what"/> names it in errors.</summary>
    public void AllreduceSum(Span<float> data, string what)
    {
        fixed (float* p = data) Allreduce(p, data.Length, _mpi.Float, _mpi.OpSum, what);
    }

    /// <inheritdoc cref="AllreduceSum(Span{float}, string)"/>
    public void AllreduceSum(Span<double> data, string what)
    {
        fixed (double* p = data) Allreduce(p, data.Length, _mpi.Double, _mpi.OpSum, what);
    }

    /// <summary>The smallest and largest of <paramref name="value"/> over all ranks (one collective).</summary>
    public (int Min, int Max) AllreduceMinMax(int value, string what)
    {
        // max(-v) = -min(v): one MPI_MAX over a pair gives both.
        int* pair = stackalloc int[2] { -value, value };
        Allreduce(pair, 2, _mpi.Int, _mpi.OpMax, what);
        return (-pair[0], pair[1]);
    }

    /// <summary>
    /// Sums several buffers over all ranks, in place: one <c>MPI_Iallreduce</c> per buffer, all in flight at once,
    /// then waited on together (the gradient buckets).
    /// </summary>
    public void AllreduceSum(float[][] buffers, string what)
    {
        ThrowIfUnusable();
        int count = buffers.Length;
        // Nothing allocated per step: the handles and requests live on the stack (a model has a handful of buckets).
        Span<GCHandle> pins = count <= 64 ? stackalloc GCHandle[count] : new GCHandle[count];
        nint* requests = stackalloc nint[count];
        int posted = 0;
        try
        {
            for (int i = 0; i < count; i++)
            {
                pins[i] = GCHandle.Alloc(buffers[i], GCHandleType.Pinned);
                nint request;
                Check(_mpi.Iallreduce(MpiLibrary.InPlace, (void*)pins[i].AddrOfPinnedObject(), buffers[i].Length, _mpi.Float, _mpi.OpSum, _mpi.CommWorld, &request),
                    "MPI_Iallreduce", what);
                requests[posted++] = request;
            }
            Wait(requests, posted, "MPI_Iallreduce", what);
        }
        finally
        {
            // A request still in flight (an error above) keeps its buffer pinned: the job is being aborted anyway.
            if (!_faulted)
                for (int i = 0; i < count; i++)
                    if (pins[i].IsAllocated) pins[i].Free();
        }
    }

    /// <summary>Copies <paramref name="data"/> from rank <paramref name="root"/> to every rank.</summary>
    public void Broadcast(Span<float> data, int root, string what)
    {
        fixed (float* p = data) Broadcast(p, data.Length, _mpi.Float, root, what);
    }

    /// <inheritdoc cref="Broadcast(Span{float}, int, string)"/>
    public void Broadcast(Span<int> data, int root, string what)
    {
        fixed (int* p = data) Broadcast(p, data.Length, _mpi.Int, root, what);
    }

    /// <summary>Waits until every rank has reached the same barrier.</summary>
    public void Barrier(string what)
    {
        ThrowIfUnusable();
        nint request;
        Check(_mpi.Ibarrier(_mpi.CommWorld, &request), "MPI_Ibarrier", what);
        Wait(&request, 1, "MPI_Ibarrier", what);
    }

    /// <summary>
    /// For a wait outside MPI that polls (an NCCL collective on the GPU): throws, as a waiting MPI collective would, when
    /// another rank's watchdog has raised the alarm, so that this rank answers it (it is alive) and stops too.
    /// </summary>
    public void ThrowIfAlarmRaised(string call, string what)
    {
        ThrowIfUnusable();
        if (AlarmPending(out int from)) Fail(call, what, ++_sequence, $"was abandoned: rank {from} timed out waiting for it");
    }

    /// <summary>
    /// The watchdog's verdict for a wait outside MPI that failed or ran past <see cref="Timeout"/> (an NCCL collective):
    /// raises the alarm, hears within <see cref="AlarmGrace"/> which ranks are alive, and throws a
    /// <see cref="DistributedException"/> naming those that are not: "rank 0 of 2: ncclAllReduce (gradients of step 8,
    /// collective #31) did not complete within 10 s; rank 1 did not arrive ...". Never returns; the job must then be
    /// aborted (<see cref="Dispose"/> does).
    /// </summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public void FailWaiting(string call, string what, string problem)
    {
        // Not ThrowIfUnusable: the caller may already have marked the job failed (it aborted its NCCL communicator).
        ObjectDisposedException.ThrowIf(_disposed, this);
        Fail(call, what, ++_sequence, problem);
    }

    /// <summary>
    /// Records that the job failed outside MPI (an NCCL call on this rank returned an error): <see cref="Dispose"/> then
    /// aborts the job instead of finalizing, since the other ranks may be waiting for this one in a collective.
    /// </summary>
    public void MarkFailed() => _faulted = true;

    /// <summary>Ends every process of the job with <paramref name="errorCode"/> (<c>MPI_Abort</c>); does not return normally.</summary>
    public void Abort(int errorCode)
    {
        _faulted = true;
        Console.Out.Flush();
        Console.Error.Flush();
        _mpi.Abort(_mpi.CommWorld, errorCode);
        // MPI_Abort should not return; if it does, leave the process the way it would have.
        Environment.Exit(errorCode);
    }

    /// <summary>
    /// <c>MPI_Finalize</c> after a clean run; after a failed MPI call or collective, <c>MPI_Abort</c> instead: finalizing
    /// would wait for the missing rank forever. (After any other exception, call <see cref="Abort"/> yourself: the other
    /// ranks would otherwise wait in their next collective until the watchdog's timeout.)
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        if (_faulted) Abort(1);
        _disposed = true;
        Check(_mpi.Finalize(), "MPI_Finalize", "shutdown");
    }

    private void Allreduce(void* data, int length, nint type, nint op, string what)
    {
        ThrowIfUnusable();
        nint request;
        Check(_mpi.Iallreduce(MpiLibrary.InPlace, data, length, type, op, _mpi.CommWorld, &request), "MPI_Iallreduce", what);
        Wait(&request, 1, "MPI_Iallreduce", what);
    }

    private void Broadcast(void* data, int length, nint type, int root, string what)
    {
        ThrowIfUnusable();
        nint request;
        Check(_mpi.Ibcast(data, length, type, root, _mpi.CommWorld, &request), "MPI_Ibcast", what);
        Wait(&request, 1, "MPI_Ibcast", what);
    }

    /// <summary>Polls <paramref name="count"/> requests until all complete, the deadline passes, or another rank raises an alarm.</summary>
    private void Wait(nint* requests, int count, string call, string what)
    {
        long sequence = ++_sequence;
        long start = Stopwatch.GetTimestamp();
        bool* done = stackalloc bool[count];
        int remaining = count;
        long nextProbe = 0;
        while (true)
        {
            for (int i = 0; i < count; i++)
            {
                if (done[i]) continue;
                int flag = 0;
                Check(_mpi.Test(&requests[i], &flag, null), "MPI_Test", what);
                if (flag != 0)
                {
                    done[i] = true;
                    remaining--;
                }
            }
            if (remaining == 0) return;

            var waited = Stopwatch.GetElapsedTime(start);
            // A non-blocking collective advances only inside MPI calls (one round per MPI_Test on each side), so the
            // wait polls without sleeping, as Open MPI's own blocking collectives do. Between polls it yields the core
            // (sched_yield: free on a core of its own, a time slice for the partner rank on an oversubscribed
            // machine, like Open MPI's mpi_yield_when_idle); only a straggler's wait sleeps 1 ms between polls.
            if (waited < SpinTime) continue;
            if (waited >= Timeout) Fail(call, what, sequence, $"did not complete within {Timeout.TotalSeconds:0.#} s");
            if (waited.Ticks >= nextProbe)
            {
                // Another rank timed out on this collective and is asking who is alive: answer by failing too.
                nextProbe = waited.Ticks + TimeSpan.TicksPerMillisecond * 10;
                if (AlarmPending(out int from)) Fail(call, what, sequence, $"was abandoned: rank {from} timed out waiting for it");
            }
            if (waited < YieldTime) Thread.Yield();
            else Thread.Sleep(1);
        }
    }

    private bool AlarmPending(out int source)
    {
        // Open MPI's MPI_Status: MPI_SOURCE, MPI_TAG, MPI_ERROR, _cancelled (ints), _ucount (size_t): 24 bytes; 64 to be safe.
        int* status = stackalloc int[16];
        int flag = 0;
        Check(_mpi.Iprobe(MPI_ANY_SOURCE, AlarmTag, _mpi.CommWorld, &flag, status), "MPI_Iprobe", "watchdog");
        source = status[0];
        return flag != 0;
    }

    /// <summary>
    /// The watchdog's verdict: tell every rank this one is alive and stuck, hear who else is, and throw naming the
    /// ranks that did not answer. Errors sending to a dead rank are expected here and ignored.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void Fail(string call, string what, long sequence, string problem)
    {
        _faulted = true;
        int others = Size - 1;
        // The alarm's buffers outlive this call (the receives from ranks that never answer stay posted until
        // MPI_Abort): pinned arrays held by the communicator, not the stack.
        _alarmBuffers = GC.AllocateArray<int>(1 + Size, pinned: true);
        _alarmBuffers[0] = (int)sequence;
        int* outgoing = (int*)Unsafe.AsPointer(ref _alarmBuffers[0]);
        int* incoming = outgoing + 1;
        nint* receives = stackalloc nint[Math.Max(1, Size)];
        bool* answered = stackalloc bool[Math.Max(1, Size)];
        for (int r = 0; r < Size; r++)
        {
            answered[r] = r == Rank;
            if (r == Rank) continue;
            nint send, receive;
            if (_mpi.Isend(outgoing, 1, _mpi.Int, r, AlarmTag, _mpi.CommWorld, &send) == MpiLibrary.MPI_SUCCESS) _mpi.Request_free(&send);
            receives[r] = _mpi.Irecv(&incoming[r], 1, _mpi.Int, r, AlarmTag, _mpi.CommWorld, &receive) == MpiLibrary.MPI_SUCCESS ? receive : 0;
        }
        long start = Stopwatch.GetTimestamp();
        int heard = 0;
        while (heard < others && Stopwatch.GetElapsedTime(start) < AlarmGrace)
        {
            for (int r = 0; r < Size; r++)
            {
                if (answered[r] || receives[r] == 0) continue;
                int flag = 0;
                if (_mpi.Test(&receives[r], &flag, null) == MpiLibrary.MPI_SUCCESS && flag != 0)
                {
                    answered[r] = true;
                    heard++;
                }
            }
            Thread.Sleep(1);
        }
        var missing = new System.Collections.Generic.List<int>();
        for (int r = 0; r < Size; r++) if (!answered[r]) missing.Add(r);
        string who = missing.Count == 0
            ? "every rank answered the watchdog's alarm, so the ranks are waiting in different collectives (a program that does not call the same collectives in the same order on every rank)"
            : $"{(missing.Count == 1 ? "rank" : "ranks")} {string.Join(", ", missing)} did not arrive (no answer to the watchdog within {AlarmGrace.TotalSeconds:0.#} s: dead, stalled or far behind)";
        throw new DistributedException($"rank {Rank} of {Size}: {call} ({what}, collective #{sequence}) {problem}; {who}. The job is aborted.", Rank, call)
        {
            MissingRanks = missing.ToArray(),
        };
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_faulted) throw new InvalidOperationException($"rank {Rank}: an earlier collective failed; the job cannot continue (dispose the communicator to abort it).");
    }

    private void Check(int code, string call, string what)
    {
        if (code == MpiLibrary.MPI_SUCCESS) return;
        _faulted = true;
        throw new DistributedException($"rank {Rank} of {Size}: {call} ({what}) failed: {_mpi.ErrorText(code)} (error {code}).", Rank, call, code);
    }

    private static void Check(MpiLibrary mpi, int code, string call, int rank)
    {
        if (code == MpiLibrary.MPI_SUCCESS) return;
        string who = rank < 0 ? "this process" : $"rank {rank}";
        throw new DistributedException($"{who}: {call} failed: {mpi.ErrorText(code)} (error {code}).", rank, call, code);
    }
}
