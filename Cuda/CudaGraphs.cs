using System;

namespace ModelDsl.Cuda;

/// <summary>
/// The process-wide default of the generated sessions' <c>UseGraphs</c> (docs/cuda.md, "CUDA graphs"): true unless the
/// environment variable <c>MODELDSL_CUDA_GRAPHS</c> is <c>0</c>, read once. A session's <c>UseGraphs</c> overrides it.
/// </summary>
public static class CudaGraphs
{
    /// <summary>The environment variable that turns CUDA graphs off for every session of the process (<c>MODELDSL_CUDA_GRAPHS=0</c>).</summary>
    public const string EnvironmentVariable = "MODELDSL_CUDA_GRAPHS";

    /// <summary>What a new session's <c>UseGraphs</c> starts as.</summary>
    public static bool EnabledByDefault { get; } = Environment.GetEnvironmentVariable(EnvironmentVariable) != "0";
}
