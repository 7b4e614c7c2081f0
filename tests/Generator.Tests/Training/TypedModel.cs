using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

/// <summary>
/// One instance of a generated model class with its public training API bound once as typed delegates
/// (<see cref="MethodInfo.CreateDelegate(Type, object?)"/>), so calls cost no reflection and allocate nothing
/// themselves: the allocation tests measure the generated code and the runtime only.
/// </summary>
/// <typeparam name="TLabel"><see cref="Tensor"/> (f32 labels) or <see cref="IntTensor"/> (class ids).</typeparam>
internal sealed class TypedModel<TLabel> : TypedModel<Tensor, TLabel>
    where TLabel : class
{
    public TypedModel(GeneratedModel compiled, ulong seed)
        : base(compiled, seed)
    {
    }
}

/// <summary>As <see cref="TypedModel{TLabel}"/>, for a model whose one input is <typeparamref name="TInput"/> (<see cref="IntTensor"/> token ids).</summary>
internal class TypedModel<TInput, TLabel>
    where TInput : class
    where TLabel : class
{
    private readonly PropertyInfo _step;
    private readonly PropertyInfo _learningRate;

    public TypedModel(GeneratedModel compiled, ulong seed)
        : this(compiled.Instance.GetType(), seed)
    {
    }

    private TypedModel(Type type, ulong seed)
    {
        Type = type;
        Instance = Activator.CreateInstance(type, seed)!;
        Forward = type.GetMethod("Forward")!.CreateDelegate<Func<TInput, Tensor>>(Instance);
        TrainStep = type.GetMethod("TrainStep")!.CreateDelegate<Func<TInput, TLabel, float>>(Instance);
        ComputeGradients = type.GetMethod("ComputeGradients")!.CreateDelegate<Func<TInput, TLabel, float>>(Instance);
        Evaluate = type.GetMethod("Evaluate")!.CreateDelegate<Func<TInput, TLabel, float>>(Instance);
        Save = type.GetMethod("Save")!.CreateDelegate<Action<string>>(Instance);
        Load = type.GetMethod("Load")!.CreateDelegate<Action<string>>(Instance);
        Initialize = type.GetMethod("Initialize")!.CreateDelegate<Action>(Instance);
        Parameters = (IReadOnlyList<Parameter>)type.GetProperty("Parameters")!.GetValue(Instance)!;
        _step = type.GetProperty("Step")!;
        _learningRate = type.GetProperty("LearningRate")!;
    }

    public Type Type { get; }

    public object Instance { get; }

    public Func<TInput, Tensor> Forward { get; }

    public Func<TInput, TLabel, float> TrainStep { get; }

    public Func<TInput, TLabel, float> ComputeGradients { get; }

    public Func<TInput, TLabel, float> Evaluate { get; }

    public Action<string> Save { get; }

    public Action<string> Load { get; }

    public Action Initialize { get; }

    public IReadOnlyList<Parameter> Parameters { get; }

    public int Step => (int)_step.GetValue(Instance)!;

    public float LearningRate
    {
        get => (float)_learningRate.GetValue(Instance)!;
        set => _learningRate.SetValue(Instance, value);
    }

    /// <summary>A copy of <see cref="Forward"/>'s output (which the model overwrites on its next call).</summary>
    public float[] ForwardCopy(TInput x) => Forward(x).Span.ToArray();

    /// <summary>Every parameter's value and optimizer state, copied: to compare bit for bit later.</summary>
    public ParameterSnapshot Snapshot() => new(Parameters.Select(p => (p.Name, p.Value.ToArray(), p.State1.ToArray(), p.State2.ToArray())).ToList(), Step);
}

internal sealed record ParameterSnapshot(IReadOnlyList<(string Name, float[] Value, float[] State1, float[] State2)> Parameters, int Step)
{
    /// <summary>True when every value and state buffer holds the same bits (so -0 ≠ +0 and NaN payloads count).</summary>
    public bool BitEquals(ParameterSnapshot other) =>
        Step == other.Step
        && Parameters.Count == other.Parameters.Count
        && Parameters.Zip(other.Parameters).All(pair =>
            pair.First.Name == pair.Second.Name
            && Bits.Equal(pair.First.Value, pair.Second.Value)
            && Bits.Equal(pair.First.State1, pair.Second.State1)
            && Bits.Equal(pair.First.State2, pair.Second.State2));

    /// <summary>The first parameter whose values differ, for messages.</summary>
    public string FirstDifference(ParameterSnapshot other)
    {
        if (Step != other.Step) return $"Step {Step} vs {other.Step}";
        foreach (var (a, b) in Parameters.Zip(other.Parameters))
        {
            if (!Bits.Equal(a.Value, b.Value)) return $"{a.Name} values differ";
            if (!Bits.Equal(a.State1, b.State1)) return $"{a.Name} state1 differs";
            if (!Bits.Equal(a.State2, b.State2)) return $"{a.Name} state2 differs";
        }

        return "none";
    }
}

internal static class Bits
{
    public static bool Equal(ReadOnlySpan<float> a, ReadOnlySpan<float> b) =>
        MemoryMarshal.AsBytes(a).SequenceEqual(MemoryMarshal.AsBytes(b));
}
