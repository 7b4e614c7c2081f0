namespace ModelDsl.Runtime.Tests.Cpu;

/// <summary>Tests that measure allocations or timing run alone, after the parallel tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NoAllocationCollection
{
    public const string Name = "CPU no-allocation";
}
