using System;

namespace ModelDsl.Runtime.Distributed;

/// <summary>Distributed mode was requested and cannot start: no usable MPI (or NCCL) library on this machine.</summary>
public sealed class DistributedUnavailableException(string message) : Exception(message);

/// <summary>
/// An MPI call returned an error, or a collective did not complete in time. The message names the call, this
/// process's rank and, for a timeout, the ranks that did not arrive. After it the job cannot continue:
/// <see cref="MpiCommunicator.Dispose"/> then aborts the whole job instead of finalizing.
/// </summary>
public sealed class DistributedException : Exception
{
    public DistributedException(string message, int rank, string call, int errorCode = 0) : base(message)
    {
        Rank = rank;
        Call = call;
        ErrorCode = errorCode;
    }

    /// <summary>The rank that raised it (this process).</summary>
    public int Rank { get; }

    /// <summary>The MPI call (<c>MPI_Iallreduce</c>) or the operation that timed out.</summary>
    public string Call { get; }

    /// <summary>The MPI error code; 0 for a timeout.</summary>
    public int ErrorCode { get; }

    /// <summary>Ranks that did not reach a timed-out collective (empty for an MPI error, or when unknown).</summary>
    public int[] MissingRanks { get; init; } = [];
}
