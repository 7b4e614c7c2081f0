using System.Linq;
using ModelDsl.Autodiff;
using ModelDsl.IR;
using ModelDsl.Plan;

namespace ModelDsl.Dsl.Tests.Autodiff
{
    /// <summary>
    /// The plan of <c>recompute Block</c>: fusion stops at a recomputed instance's boundary, each instance's scratch is shared
    /// with the first instance of its set, and the backward pass re-runs each instance's forward kernels before its own.
    /// </summary>
    public class RecomputePlanTests
    {
        private const string Gpt = """
            config {
                d = 16
                heads = 2
            }
            block Layer(x: f32[B, T, d], mask: i32[B, T], heads) {
                a = x -> layer_norm -> attention(heads, mask=mask, dropout=0.1) -> dropout(0.2)
                r = x + a
                m = r -> layer_norm -> dense(4*d) -> gelu(approximate="tanh") -> dense(d) -> dropout(0.1)
                return r + m
            }
            model Rc {
                input ids: i32[B, T]
                input mask: i32[B, T]
                label y: i32[B, T]
                e = embedding(ids, 11, d) -> dropout(0.1)
                h = e -> repeat 3 Layer(mask, heads) -> Layer(mask, heads)
                logits = h -> layer_norm -> dense(11)
                output logits
                loss cross_entropy(logits, y)
                optimizer adamw(lr=0.01)
            RECOMPUTE}
            """;

        internal static TrainingPlan Plan(string text)
        {
            var result = Compilation.Compile("test.model", text);
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics.Select(d => d.Format(result.Text))));
            var plan = PlanBuilder.TryBuild(Assert.Single(result.Models), out var unsupported);
            Assert.Null(unsupported);
            return Assert.IsType<TrainingPlan>(plan);
        }

        private static TrainingPlan Gpt2(bool recompute) => Plan(Gpt.Replace("RECOMPUTE", recompute ? "    recompute Layer\n" : ""));

        [Fact]
        public void Each_instance_is_recomputed_before_its_backward_in_reverse_order()
        {
            var plan = Gpt2(recompute: true);
            Assert.Equal(new[] { "h.1", "h.0.2", "h.0.1", "h.0.0" }, plan.Backward.Select(plan.RecomputeBefore).Where(s => s is not null).Select(s => s!.Instance.Path));
            foreach (var segment in plan.Recompute)
            {
                // The forward kernels are the forward pass's own, contiguous and in order; the first backward kernel is the instance's.
                int first = plan.Forward.ToList().IndexOf(segment.Forward[0]);
                Assert.Equal(plan.Forward.Skip(first).Take(segment.Forward.Count), segment.Forward);
                Assert.All(segment.Forward, k => Assert.Equal(segment.Index, plan.RecomputedInstanceOf(k)));
                Assert.Equal(segment.Index, plan.RecomputedInstanceOf(segment.FirstBackward));
                Assert.Contains(segment.Forward, k => k is ElementwiseKernel { UsesDropout: true });
                Assert.Contains(segment.Forward, k => k.Calls?.Calls.Any(c => c.Arguments.OfType<DropoutSeedArgument>().Any()) == true); // attention's own dropout
            }
            // The backward as it runs: every backward kernel once, and each use's forward kernels once more, right before its own.
            var run = plan.BackwardAsRun().ToList();
            Assert.Equal(plan.Backward.Count + plan.Recompute.Sum(s => s.Forward.Count), run.Count);
            foreach (var segment in plan.Recompute)
            {
                int at = run.IndexOf(segment.FirstBackward);
                Assert.Equal(segment.Forward, run.Skip(at - segment.Forward.Count).Take(segment.Forward.Count));
            }
            // The embedding, its dropout, the final layer norm and the head are no instance's.
            Assert.Equal(-1, plan.RecomputedInstanceOf(plan.Forward[0]));
            Assert.Equal(-1, plan.RecomputedInstanceOf(plan.Forward[^1]));
        }

        [Fact]
        public void The_instances_share_the_first_one_s_scratch_and_keep_their_outputs()
        {
            var plain = Gpt2(recompute: false);
            var plan = Gpt2(recompute: true);
            var owner = plan.Recompute.Single(s => s.Instance.Path == "h.0.0");
            Assert.All(plan.Recompute, s => Assert.Same(owner.Instance, s.SharesWith));
            Assert.All(plan.Recompute, s => Assert.Equal(owner.Scratch.Count, s.Scratch.Count));
            Assert.All(owner.Scratch, b => Assert.Null(b.AliasOf));
            foreach (var segment in plan.Recompute.Where(s => s != owner))
            {
                for (int i = 0; i < segment.Scratch.Count; i++)
                {
                    Assert.Same(owner.Scratch[i], segment.Scratch[i].Root);
                    Assert.True(segment.Scratch[i].SharesScratch);
                }
            }
            // activations, saved statistics, attention's working memory and the gradients of all of them
            Assert.Contains(owner.Scratch, b => b.Kind == BufferKind.Activation);
            Assert.Contains(owner.Scratch, b => b.Kind == BufferKind.Saved);
            Assert.Contains(owner.Scratch, b => b.Kind == BufferKind.Workspace);
            Assert.Contains(owner.Scratch, b => b.Kind == BufferKind.Gradient);
            // Each instance's output (the next one's input) and its gradient stay buffers of their own.
            foreach (var segment in plan.Recompute)
            {
                var output = segment.Instance.Nodes[^1].Output;
                Assert.Null(plan.Buffers.Single(b => b.Kind == BufferKind.Activation && b.Value == output).AliasOf);
                Assert.Null(plan.Buffers.Single(b => b.Kind == BufferKind.Gradient && b.Value == output).AliasOf);
                Assert.DoesNotContain(plan.Buffers.Where(b => b.Value == output), segment.Scratch.Contains);
            }
            // Three of the four instances' scratch is gone from the planned buffers.
            int planned = plan.Buffers.Count(b => b.IsPlanned), plainPlanned = plain.Buffers.Count(b => b.IsPlanned);
            Assert.Equal(plainPlanned - 3 * owner.Scratch.Count, planned);
            // The same kernels, in the same order, with the same names: recomputation changes memory, not the arithmetic.
            Assert.Equal(plain.Forward.Select(k => k.Name), plan.Forward.Select(k => k.Name));
            Assert.Equal(plain.Backward.Select(k => k.Name), plan.Backward.Select(k => k.Name));
        }

        [Fact]
        public void Fusion_stops_at_a_recomputed_instance_s_boundary()
        {
            const string text = """
                block Squash(x) {
                    return x -> tanh -> sigmoid
                }
                model M {
                    input x: f32[B, 8]
                    label y: f32[B, 8]
                    h = x -> dense(8) -> repeat 3 Squash()
                    output h
                    loss mse(h, y)
                    optimizer adam(lr=1e-3)
                RECOMPUTE}
                """;
            var plain = Plan(text.Replace("RECOMPUTE", ""));
            var plan = Plan(text.Replace("RECOMPUTE", "    recompute Squash\n"));
            // Without recomputation dense, its bias and the six activations are one loop; with it, each instance's two are their own.
            Assert.Single(plain.Forward.OfType<ElementwiseKernel>());
            var loops = plan.Forward.OfType<ElementwiseKernel>().ToList();
            Assert.Equal(4, loops.Count); // dense's bias, then each instance's tanh + sigmoid
            Assert.Equal(new[] { -1, 0, 1, 2 }, loops.Select(plan.RecomputedInstanceOf));
            Assert.Equal(3, plan.Recompute.Count);
        }
    }
}
