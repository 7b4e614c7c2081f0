using System;
using System.IO;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// The CPU forward multiplies by weights packed once per parameter version (Sgemm's Parameter overload). Every way a
/// generated model changes its weights must invalidate that copy: each test caches the packed weights with a Forward,
/// changes the weights, and checks the next Forward against a fresh model holding the same weights. A stale copy
/// would give the old model's outputs.
/// </summary>
public sealed class PackedWeightsTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("mdlpacked-");

    public void Dispose() => _folder.Delete(recursive: true);

    private static readonly Tensor X = GradientChecker.RandomTensor(new Random(21), 16, 784);
    private static readonly IntTensor Y = GradientChecker.RandomClasses(new Random(22), 10, 16);

    private static GeneratedModel Mlp(ulong seed = 1) => GeneratedModel.CompileExample("examples/FashionMnist/fashion_mlp.model", "FashionMlp", seed);

    private static float[] Forward(GeneratedModel model, object? instance = null) =>
        ((Tensor)model.Method("Forward").Invoke(instance ?? model.Instance, [X])!).Span.ToArray();

    /// <summary>The same weights in a new instance, through a checkpoint; its Forward never saw other weights.</summary>
    private float[] FreshForward(GeneratedModel model)
    {
        string path = Path.Combine(_folder.FullName, Guid.NewGuid() + ".safetensors");
        model.Call("Save", path);
        var fresh = model.NewInstance(seed: 99);
        model.Method("Load").Invoke(fresh, [path]);
        return Forward(model, fresh);
    }

    [Fact]
    public void TrainStep_invalidates_the_packed_weights()
    {
        var model = Mlp();
        var before = Forward(model);
        model.Call("TrainStep", X, Y);
        var after = Forward(model);
        Assert.NotEqual(before, after);
        Assert.Equal(FreshForward(model), after);
    }

    [Fact]
    public void ApplyGradients_invalidates_the_packed_weights()
    {
        var model = Mlp();
        Forward(model);
        model.Call("ComputeGradients", X, Y);
        model.Call("ApplyGradients");
        Assert.Equal(FreshForward(model), Forward(model));
    }

    [Fact]
    public void Initialize_invalidates_the_packed_weights()
    {
        var model = Mlp(seed: 5);
        var initial = Forward(model);
        for (int i = 0; i < 3; i++) model.Call("TrainStep", X, Y);
        Assert.NotEqual(initial, Forward(model));
        model.Call("Initialize");
        Assert.Equal(initial, Forward(model));
    }

    [Fact]
    public void Load_invalidates_the_packed_weights()
    {
        var trained = Mlp();
        for (int i = 0; i < 3; i++) trained.Call("TrainStep", X, Y);
        string path = Path.Combine(_folder.FullName, "trained.safetensors");
        trained.Call("Save", path);

        var other = Mlp(seed: 7);
        Assert.NotEqual(Forward(trained), Forward(other)); // other's packed weights are its own initial ones
        other.Call("Load", path);
        Assert.Equal(Forward(trained), Forward(other));
    }

    [Fact]
    public void A_user_write_announced_with_MarkChanged_is_used()
    {
        var model = Mlp();
        Forward(model);
        var weight = model.Parameters[0];
        for (int i = 0; i < weight.Value.Length; i++) weight.Value[i] *= 0.5f;
        weight.MarkChanged();
        Assert.Equal(FreshForward(model), Forward(model));
    }
}
