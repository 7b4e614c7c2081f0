namespace ModelDsl.Cuda.Tests.Support;

/// <summary>
/// A fact that runs <c>CudaContext</c> against the stand-in driver (<see cref="FakeCuda"/>), which g++ builds: skipped
/// where g++ is missing, except under <c>CI=true</c>, where it runs and fails.
/// </summary>
public sealed class FakeCudaFactAttribute : FactAttribute
{
    public FakeCudaFactAttribute()
    {
        if (TestRequirements.GxxSkipReason is { } reason) Skip = reason;
    }
}

/// <summary>The theory form of <see cref="FakeCudaFactAttribute"/>.</summary>
public sealed class FakeCudaTheoryAttribute : TheoryAttribute
{
    public FakeCudaTheoryAttribute()
    {
        if (TestRequirements.GxxSkipReason is { } reason) Skip = reason;
    }
}
