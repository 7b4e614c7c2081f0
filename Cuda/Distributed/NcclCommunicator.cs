using System;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Threading;
using ModelDsl.Cuda.Interop;
using ModelDsl.Runtime.Distributed;

namespace ModelDsl.Cuda.Distributed;

/// <summary>
/// An NCCL communicator over the ranks of an MPI job, one GPU per rank: in-place sum all-reduce and broadcast of
/// device buffers, each waited for with the MPI watchdog's deadline. Made the way NCCL's own MPI example makes it:
/// rank 0 calls <c>ncclGetUniqueId</c>, the id travels to every rank over MPI, every rank calls
/// <c>ncclCommInitRank</c> on its GPU.
/// <code>
/// using var nccl = NcclCommunicator.Create(world, context);    // context: this rank's GPU (device = local rank)
/// nccl.AllReduceSum(gradients.Pointer, gradients.Length, "gradients of step 8");
/// </code>
/// </summary>
/// <remarks>
/// <para><b>Errors.</b> Every NCCL result is checked; a failure becomes a <see cref="DistributedException"/> naming the
/// call, the rank and NCCL's text (<c>ncclGetErrorString</c>, and <c>ncclGetLastError</c>'s detail on NCCL 2.13+).
/// The job is then marked failed, so disposing the <see cref="MpiCommunicator"/> aborts it.</para>
/// <para><b>Waiting.</b> A collective is queued on the default stream (where the generated code's kernels run), so it
/// follows the backward pass and precedes the optimizer without any wait. It is still waited for, by polling and
/// never blocking: <c>ncclCommGetAsyncError</c> (an error found while it runs, such as a peer that died:
/// <c>ncclRemoteError</c>; <c>ncclInProgress</c> while a non-blocking communicator is still queueing it) and
/// <see cref="GpuContext.IsIdle"/>, against the MPI communicator's <see cref="MpiCommunicator.Timeout"/>. A collective
/// whose peer is dead or stalled never completes, and <c>cuCtxSynchronize</c> would wait for it forever. On an error
/// or the deadline the communicator is aborted (<c>ncclCommAbort</c>, which stops the stuck kernel) and the MPI
/// watchdog names the ranks that do not answer (<see cref="MpiCommunicator.FailWaiting"/>); while waiting, the
/// other ranks' alarms are answered (<see cref="MpiCommunicator.ThrowIfAlarmRaised"/>).</para>
/// <para><b>Not tested on a GPU.</b> The tests run this class on the CPU emulator of the GPU against a stand-in
/// library (tests/Distributed.Tests/StandInNccl: shared memory, a test double, not NCCL); docs/distributed.md lists
/// what that leaves untested.</para>
/// </remarks>
public sealed unsafe class NcclCommunicator : IDisposable
{
    /// <summary>A wait polls back to back this long, then yields between polls (as <see cref="MpiCommunicator"/>'s do).</summary>
    private static readonly TimeSpan SpinTime = TimeSpan.FromTicks(TimeSpan.TicksPerMillisecond / 10);

    /// <summary>After this long the wait is for a straggler: 1 ms sleeps between polls.</summary>
    private static readonly TimeSpan YieldTime = TimeSpan.FromMilliseconds(200);

    private readonly Nccl _nccl;
    private readonly MpiCommunicator _world;
    private readonly GpuContext _context;
    private nint _comm;
    private bool _faulted;

    private NcclCommunicator(Nccl nccl, MpiCommunicator world, GpuContext context, nint comm)
    {
        _nccl = nccl;
        _world = world;
        _context = context;
        _comm = comm;
        Library = nccl.Describe();
    }

    /// <summary>This rank (the MPI rank: NCCL's ranks are made equal to MPI's).</summary>
    public int Rank => _world.Rank;

    /// <summary>The number of ranks (GPUs) in the communicator.</summary>
    public int Size => _world.Size;

    /// <summary>The loaded library and its version: <c>libnccl.so.2 (NCCL 2.21.5)</c>.</summary>
    public string Library { get; }

    /// <summary>
    /// Loads NCCL (on first use) and makes the communicator of every rank of <paramref name="world"/>, on this rank's
    /// <paramref name="context"/>. Collective: every rank must call it.
    /// </summary>
    /// <exception cref="DistributedUnavailableException">No NCCL library, or one that cannot reach this context's memory.</exception>
    /// <exception cref="DistributedException">An NCCL or MPI call failed; the message names it and the rank.</exception>
    public static NcclCommunicator Create(MpiCommunicator world, GpuContext context)
    {
        ArgumentNullException.ThrowIfNull(world);
        ArgumentNullException.ThrowIfNull(context);
        Nccl nccl = Nccl.Shared;
        // The emulator's "device memory" is host memory: only the tests' stand-in reduces it, and the stand-in cannot
        // read a GPU's. Refused here, by name, instead of a crash inside the library.
        if (context.IsEmulated && !nccl.IsStandIn)
            throw new DistributedUnavailableException(
                $"{nccl.Library} is NCCL, which reduces GPU memory; the CPU emulator's device memory is host memory. The emulated GPU trains data-parallel only with the tests' stand-in ({Nccl.PathVariable}, docs/distributed.md).");
        if (!context.IsEmulated && nccl.IsStandIn)
            throw new DistributedUnavailableException(
                $"{nccl.Library} is ModelDsl's stand-in for tests, which reduces the CPU emulator's host memory and cannot read a GPU's; unset {Nccl.PathVariable} to use NCCL.");

        // NCCL takes its device from the calling thread's current context (cudaGetDevice).
        if (context is CudaContext cuda) cuda.SetCurrent();
        ncclUniqueId id = default;
        ncclResult_t made = world.IsRoot ? nccl.ncclGetUniqueId(&id) : ncclResult_t.ncclSuccess;
        // Every rank learns whether rank 0 has an id before any waits in ncclCommInitRank for one that never comes.
        Span<int> idAndStatus = stackalloc int[ncclUniqueId.Bytes / sizeof(int) + 1];
        new ReadOnlySpan<byte>(id.Internal, ncclUniqueId.Bytes).CopyTo(MemoryMarshal.AsBytes(idAndStatus));
        idAndStatus[^1] = (int)made;
        world.Broadcast(idAndStatus, root: 0, "NCCL unique id");
        if (idAndStatus[^1] != (int)ncclResult_t.ncclSuccess)
        {
            world.MarkFailed();
            string who = world.IsRoot ? "" : " on rank 0";
            throw new DistributedException(
                $"rank {world.Rank} of {world.Size}: ncclGetUniqueId{who} failed: {nccl.ErrorText((ncclResult_t)idAndStatus[^1], 0)}.",
                world.Rank, "ncclGetUniqueId", idAndStatus[^1]);
        }
        MemoryMarshal.AsBytes(idAndStatus)[..ncclUniqueId.Bytes].CopyTo(new Span<byte>(id.Internal, ncclUniqueId.Bytes));

        nint comm = 0;
        ncclResult_t result = nccl.ncclCommInitRank(&comm, world.Size, id, world.Rank);
        if (result != ncclResult_t.ncclSuccess)
        {
            world.MarkFailed();
            throw new DistributedException(
                $"rank {world.Rank} of {world.Size}: ncclCommInitRank ({world.Size} ranks, device of {context.DeviceName}) failed: {nccl.ErrorText(result, comm)}.",
                world.Rank, "ncclCommInitRank", (int)result);
        }
        return new NcclCommunicator(nccl, world, context, comm);
    }

    /// <summary>Sums <paramref name="count"/> floats at <paramref name="buffer"/> over all ranks, in place; <paramref name="what"/> names it in errors.</summary>
    public void AllReduceSum(DevicePointer buffer, long count, string what)
    {
        ThrowIfUnusable();
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        MakeCurrent();
        Check(_nccl.ncclAllReduce(buffer.Address, buffer.Address, (nuint)count, ncclDataType_t.ncclFloat32, ncclRedOp_t.ncclSum, _comm, 0), "ncclAllReduce", what);
        Wait("ncclAllReduce", what);
    }

    /// <summary>Copies <paramref name="count"/> floats at <paramref name="buffer"/> from rank <paramref name="root"/> to every rank, in place.</summary>
    public void Broadcast(DevicePointer buffer, long count, int root, string what)
    {
        ThrowIfUnusable();
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        MakeCurrent();
        Check(_nccl.ncclBroadcast(buffer.Address, buffer.Address, (nuint)count, ncclDataType_t.ncclFloat32, root, _comm, 0), "ncclBroadcast", what);
        Wait("ncclBroadcast", what);
    }

    /// <summary><c>ncclCommDestroy</c> after a clean run; after a failure the communicator was already aborted.</summary>
    public void Dispose()
    {
        if (_comm == 0) return;
        nint comm = _comm;
        _comm = 0;
        if (_faulted) return;
        ncclResult_t result = _nccl.ncclCommDestroy(comm);
        if (result != ncclResult_t.ncclSuccess)
        {
            _world.MarkFailed();
            throw new DistributedException($"rank {Rank} of {Size}: ncclCommDestroy failed: {_nccl.ErrorText(result, 0)}.", Rank, "ncclCommDestroy", (int)result);
        }
    }

    /// <summary>Polls until the collective is done on this GPU, an error is reported, or the deadline passes.</summary>
    private void Wait(string call, string what)
    {
        long start = Stopwatch.GetTimestamp();
        long nextProbe = 0;
        while (true)
        {
            ncclResult_t state = ncclResult_t.ncclSuccess;
            Check(_nccl.ncclCommGetAsyncError(_comm, &state), "ncclCommGetAsyncError", what);
            if (state is not (ncclResult_t.ncclSuccess or ncclResult_t.ncclInProgress))
            {
                // Read the text before the abort frees the communicator; then let the watchdog say who is alive.
                string text = _nccl.ErrorText(state, _comm);
                AbortCommunicator();
                _world.FailWaiting(call, what, $"failed: {text}");
            }
            if (state == ncclResult_t.ncclSuccess && _context.IsIdle()) return;

            var waited = Stopwatch.GetElapsedTime(start);
            if (waited < SpinTime) continue;
            if (waited >= _world.Timeout)
            {
                AbortCommunicator();
                _world.FailWaiting(call, what, string.Create(CultureInfo.InvariantCulture, $"did not complete within {_world.Timeout.TotalSeconds:0.#} s"));
            }
            if (waited.Ticks >= nextProbe)
            {
                // Another rank timed out waiting for this one somewhere: answer its alarm and stop with it.
                nextProbe = waited.Ticks + TimeSpan.TicksPerMillisecond * 10;
                try
                {
                    _world.ThrowIfAlarmRaised(call, what);
                }
                catch (DistributedException)
                {
                    AbortCommunicator();
                    throw;
                }
            }
            if (waited < YieldTime) Thread.Yield();
            else Thread.Sleep(1);
        }
    }

    /// <summary><c>ncclCommAbort</c>: stops pending work and frees the communicator; the job is over (its error is already being reported).</summary>
    private void AbortCommunicator()
    {
        _faulted = true;
        _world.MarkFailed();
        if (_comm == 0) return;
        nint comm = _comm;
        _comm = 0;
        _nccl.ncclCommAbort(comm);
    }

    private void Check(ncclResult_t result, string call, string what)
    {
        // ncclInProgress: a non-blocking communicator is still queueing the call; Wait polls it to the end.
        if (result is ncclResult_t.ncclSuccess or ncclResult_t.ncclInProgress) return;
        string text = _nccl.ErrorText(result, _comm);
        AbortCommunicator();
        throw new DistributedException($"rank {Rank} of {Size}: {call} ({what}) failed: {text}.", Rank, call, (int)result);
    }

    private void MakeCurrent()
    {
        if (_context is CudaContext cuda) cuda.MakeCurrent();
    }

    private void ThrowIfUnusable()
    {
        if (_comm == 0)
            throw _faulted
                ? new InvalidOperationException($"rank {Rank}: an earlier NCCL collective failed; the job cannot continue (dispose the MPI communicator to abort it).")
                : new ObjectDisposedException(nameof(NcclCommunicator));
    }
}
