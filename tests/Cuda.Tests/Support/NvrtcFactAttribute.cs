namespace ModelDsl.Cuda.Tests.Support;

/// <summary>
/// A fact that needs NVRTC: skipped with <c>NvrtcCompiler.IsAvailable</c>'s reason where NVRTC is missing, except under
/// <c>CI=true</c>, where it runs (and fails with that reason) so CI cannot silently skip the NVRTC tests.
/// </summary>
public sealed class NvrtcFactAttribute : FactAttribute
{
    public NvrtcFactAttribute()
    {
        if (TestRequirements.NvrtcSkipReason is { } reason) Skip = reason;
    }
}

/// <summary>The theory form of <see cref="NvrtcFactAttribute"/>.</summary>
public sealed class NvrtcTheoryAttribute : TheoryAttribute
{
    public NvrtcTheoryAttribute()
    {
        if (TestRequirements.NvrtcSkipReason is { } reason) Skip = reason;
    }
}
