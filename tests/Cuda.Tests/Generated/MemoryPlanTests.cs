using System;
using System.Collections.Generic;
using System.Linq;
using ModelDsl.CudaParity;
using ModelDsl.Cuda.Emulation;
using ModelDsl.Emit.Cuda;

namespace ModelDsl.Cuda.Tests.Generated;

/// <summary>
/// The memory plan <c>modeldsl summary --device cuda</c> prints (<see cref="GpuMemoryPlan"/>) against what the generated
/// sessions really allocate on the emulator: a session's constructor allocates the plan's session part, its first
/// training step at a binding the per-binding part, byte for byte; a second binding adds its own per-binding part.
/// </summary>
public sealed class MemoryPlanTests
{
    [Fact]
    public void Every_parity_model_allocates_exactly_its_memory_plan()
    {
        var plans = ExampleModels.CudaPlans(out _).ToDictionary(m => m.Model, m => GpuMemoryPlan.For(m.Plan, m.Module));
        using var context = (EmulatedContext)GpuContext.OpenEmulated();
        foreach (var (type, batch, sequence) in Program.Models)
        {
            var plan = plans[type.Name];
            var model = Activator.CreateInstance(type, 7UL)!;
            long before = context.AllocatedBytes;
            using var session = (IDisposable)ParityCheck.Invoke(model, "ToGpu", context);
            long sessionBytes = context.AllocatedBytes - before;
            Assert.True(sessionBytes == plan.Session.Sum(a => a.Bytes(Bindings(batch, sequence))),
                $"{type.Name}: the session allocated {sessionBytes} bytes, the plan says {plan.Session.Sum(a => a.Bytes(Bindings(batch, sequence)))}");

            Train(session, type, batch, sequence);
            long first = context.AllocatedBytes - before - sessionBytes;
            long planned = plan.PerBinding.Sum(a => a.Bytes(Bindings(batch, sequence)));
            Assert.True(first == planned, $"{type.Name} at B={batch}, T={sequence}: the step allocated {first} bytes, the plan says {planned}");

            Train(session, type, batch + 1, sequence);
            long second = context.AllocatedBytes - before - sessionBytes - first;
            long plannedSecond = plan.PerBinding.Sum(a => a.Bytes(Bindings(batch + 1, sequence)));
            Assert.True(second == plannedSecond, $"{type.Name} at B={batch + 1}: the step allocated {second} bytes, the plan says {plannedSecond}");
            Assert.True(plannedSecond > planned, $"{type.Name}: a larger batch must plan more memory");
        }
    }

    [Fact]
    public void The_plan_groups_every_allocation_and_keeps_what_the_backward_reads()
    {
        var (_, plan, module) = ExampleModels.CudaPlans(out _).Single(m => m.Model == "BinaryClassifier");
        var memory = GpuMemoryPlan.For(plan, module);
        var groups = memory.All.ToDictionary(a => a.Name, a => a.Group);
        Assert.Equal(GpuMemoryGroup.Parameters, groups["_values"]);
        Assert.Equal(GpuMemoryGroup.OptimizerState, groups["_state2"]);
        // relu's backward reads its output (logit_1), dense's dW reads its input: kept. The pre-activation logit_0 is
        // read by nothing after the forward; the sigmoid output is the model's output only.
        Assert.Equal(GpuMemoryGroup.ActivationsKept, groups["w.logit_1"]);
        Assert.Equal(GpuMemoryGroup.ActivationsForwardOnly, groups["w.logit_0"]);
        Assert.Equal(GpuMemoryGroup.ActivationsForwardOnly, groups["w.probability"]);
        Assert.Equal(GpuMemoryGroup.ActivationGradients, groups["w.d_logit"]);
        Assert.Equal(GpuMemoryGroup.Inputs, groups["w.x"]);
        // Parameters 10·64+64 + 64·64+64 + 64+1 each padded to 64 floats: 4,992 floats per arena.
        Assert.Equal(4992 * 4, memory.Session.Single(a => a.Name == "_values").Bytes(new Dictionary<string, long>()));
    }

    /// <summary>
    /// <c>recompute Block</c> (docs/language.md "Activation recomputation"): tests/CudaParity/models/parity_recompute.model's
    /// three block uses share one set of scratch, so the plan holds two sets fewer than the same model without the statement,
    /// in the kept activations, the saved statistics, attention's working memory and the activation gradients alike; the
    /// session part (parameters, optimizer state) does not change. (That the session allocates exactly its plan is the test above.)
    /// </summary>
    [Fact]
    public void Recompute_shrinks_the_per_binding_memory_by_the_scratch_of_the_shared_uses()
    {
        string file = System.IO.Path.Combine(ExampleModels.RepositoryRoot, "tests", "CudaParity", "models", "parity_recompute.model");
        string text = System.IO.File.ReadAllText(file);
        (ModelDsl.Plan.TrainingPlan Plan, GpuMemoryPlan Memory) PlanOf(string source)
        {
            var compiled = ModelDsl.Compilation.Compile(file, source).Compiled.Single();
            return (compiled.Plan!, GpuMemoryPlan.For(compiled.Plan!, compiled.Cuda!));
        }
        var (plan, recomputed) = PlanOf(text);
        var (_, plain) = PlanOf(text.Replace("    recompute Block\n", ""));
        var at = Bindings(8, 16);
        long Bytes(GpuMemoryPlan p, GpuMemoryGroup g) => p.PerBinding.Where(a => a.Group == g).Sum(a => a.Bytes(at));
        Assert.Equal(plain.Session.Sum(a => a.Bytes(at)), recomputed.Session.Sum(a => a.Bytes(at)));
        foreach (var group in new[] { GpuMemoryGroup.Saved, GpuMemoryGroup.Workspace, GpuMemoryGroup.ActivationGradients })
            Assert.True(Bytes(recomputed, group) < Bytes(plain, group), $"{group}: {Bytes(recomputed, group)} with recompute, {Bytes(plain, group)} without");
        long Activations(GpuMemoryPlan p) => Bytes(p, GpuMemoryGroup.ActivationsKept) + Bytes(p, GpuMemoryGroup.ActivationsForwardOnly);
        Assert.True(Activations(recomputed) < Activations(plain));

        // Exactly two uses' scratch is gone: the first use's scratch buffers, as the session allocates them, twice.
        var owner = plan.Recompute.Single(s => s.SharesWith == s.Instance);
        Assert.Equal(3, plan.Recompute.Count);
        var allocated = owner.Scratch.Select(b => "w." + b.Name).ToHashSet();
        long perUse = recomputed.PerBinding.Where(a => allocated.Contains(a.Name)).Sum(a => a.Bytes(at));
        Assert.True(perUse > 0);
        Assert.Equal(2 * perUse, plain.PerBinding.Sum(a => a.Bytes(at)) - recomputed.PerBinding.Sum(a => a.Bytes(at)));
    }

    private static Dictionary<string, long> Bindings(int batch, int sequence) => new(StringComparer.Ordinal) { ["B"] = batch, ["T"] = sequence };

    private static void Train(IDisposable session, Type type, int batch, int sequence) =>
        ParityCheck.Invoke(session, "TrainStep", ParityCheck.RandomBatch(type, batch, sequence, seed: 1));
}
