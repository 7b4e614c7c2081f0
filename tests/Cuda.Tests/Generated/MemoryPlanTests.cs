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

    private static Dictionary<string, long> Bindings(int batch, int sequence) => new(StringComparer.Ordinal) { ["B"] = batch, ["T"] = sequence };

    private static void Train(IDisposable session, Type type, int batch, int sequence) =>
        ParityCheck.Invoke(session, "TrainStep", ParityCheck.RandomBatch(type, batch, sequence, seed: 1));
}
