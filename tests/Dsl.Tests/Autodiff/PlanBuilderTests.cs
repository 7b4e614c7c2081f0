using System.Linq;
using ModelDsl.Autodiff;
using ModelDsl.Dsl.Tests.Binding;
using ModelDsl.IR;
using ModelDsl.Plan;

namespace ModelDsl.Dsl.Tests.Autodiff
{
    /// <summary>How the plan builder lowers the layers: views, saved state, head fusion, tying and entry checks.</summary>
    public class PlanBuilderTests
    {
        private static TrainingPlan Plan(ModelGraph model)
        {
            var plan = PlanBuilder.TryBuild(model, out var unsupported);
            Assert.Null(unsupported);
            return Assert.IsType<TrainingPlan>(plan);
        }

        private static TrainingPlan Plan(string text)
        {
            var result = Compilation.Compile("test.model", text);
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics.Select(d => d.Format(result.Text))));
            return Plan(Assert.Single(result.Models));
        }

        [Theory]
        [InlineData("examples/BinaryClassifier/binary_classifier.model")]
        [InlineData("examples/FashionMnist/fashion_mlp.model")]
        [InlineData("examples/FashionMnist/fashion_cnn.model")]
        [InlineData("examples/TextLstm/fortune_lstm.model")]
        [InlineData("examples/CharGpt/char_gpt.model")]
        public void Every_example_has_a_plan(string example)
        {
            var plan = Plan(ExampleModelTests.CheckExample(example));
            Assert.NotEmpty(plan.Forward);
            Assert.NotEmpty(plan.Backward);
            Assert.Equal(plan.Model.Parameters.Count, plan.ParameterGradients.Count);
        }

        [Fact]
        public void Flatten_is_a_view_of_its_input_and_so_is_its_gradient()
        {
            var plan = Plan(ExampleModelTests.CheckExample("examples/FashionMnist/fashion_cnn.model"));
            var view = plan.Forward.OfType<ReshapeKernel>().Single();
            Assert.Equal("logits_0", view.Output.Name);
            Assert.Same(view.Input, view.Output.AliasOf);
            Assert.False(view.Output.IsPlanned);
            var gradientView = plan.Backward.OfType<ReshapeKernel>().Single();
            Assert.Same(gradientView.Input, gradientView.Output.Root);
            Assert.DoesNotContain(plan.Buffers, b => b.IsPlanned && b.AliasOf is not null);

            // The dense layer after the flatten reads the pooled buffer itself; its dX GEMM writes the pool's gradient.
            var dense = plan.Forward.OfType<GemmKernel>().First();
            Assert.Same(view.Output, dense.A);
            Assert.Same(view.Input, dense.A.Root);

            var pools = plan.Forward.OfType<Pool2dKernel>().ToList();
            Assert.Equal(2, pools.Count);
            Assert.All(pools, p => Assert.Equal(BufferKind.Saved, p.Indices!.Kind));
            Assert.All(pools, p => Assert.Equal(Shapes.DType.I32, p.Indices!.DType));

            // The first conv2d reads the model input: its backward computes no input gradient.
            var convs = plan.Backward.OfType<Conv2dBackwardKernel>().ToList();
            Assert.Null(convs.Last().InputGradient);
            Assert.NotNull(convs.First().InputGradient);
        }

        [Fact]
        public void Attention_out_proj_bias_dropout_and_the_residual_add_are_one_loop()
        {
            var plan = Plan(ExampleModelTests.CheckExample("examples/CharGpt/char_gpt.model"));
            var fused = plan.Forward.OfType<ElementwiseKernel>().First(k => k.Name.Contains("attention_dropout_add"));
            Assert.Equal(3, fused.Origins.Count);
            Assert.Single(fused.Outputs); // only the residual sum is stored; the dropout's output stays in registers
            Assert.Equal(4, plan.Forward.OfType<AttentionKernel>().Count());
            Assert.All(plan.Forward.OfType<AttentionKernel>(), a => Assert.True(a.Causal));
            Assert.All(plan.Forward.OfType<AttentionKernel>(), a => Assert.Equal(BufferKind.Workspace, a.Workspace.Kind));
            Assert.DoesNotContain(plan.Buffers, b => b.Name == "h_1_0_a"); // the dropout output in that loop has no buffer
        }

        [Fact]
        public void A_tied_table_gets_the_dense_gradient_first_and_the_embedding_gradient_added()
        {
            var plan = Plan(ExampleModelTests.CheckExample("examples/CharGpt/char_gpt.model"));
            var table = plan.ParameterGradients.Single(b => b.Parameter!.Name == "tok.weight");
            var dW = plan.Backward.OfType<GemmKernel>().Single(g => g.C == table);
            var embedding = plan.Backward.OfType<EmbeddingBackwardKernel>().Single();
            Assert.False(dW.Accumulate);
            Assert.Same(table, embedding.TableGradient.Buffer);
            Assert.True(embedding.TableGradient.Accumulate);
            Assert.True(plan.Backward.ToList().IndexOf(dW) < plan.Backward.ToList().IndexOf(embedding));
        }

        [Fact]
        public void Sequence_length_and_token_ids_are_checked_on_entry()
        {
            var plan = Plan(ExampleModelTests.CheckExample("examples/CharGpt/char_gpt.model"));
            var limit = Assert.Single(plan.EntryChecks.SizeLimits);
            Assert.Equal("T", limit.Dimension);
            Assert.Equal(64, limit.Maximum);
            Assert.Equal("idx", limit.Input.Name);
            Assert.Equal("positional(max_len=64) 'pos'", limit.Layer);
            var ids = Assert.Single(plan.EntryChecks.IdRanges);
            Assert.Equal(96, ids.Count);
            Assert.Equal("B*T", ids.Length.ToExpression());

            // A fixed sequence length is checked by the compiler instead.
            var fixedLength = Plan(@"
                model M {
                    input x: i32[B, 8]
                    label y: f32[B, 8, 4]
                    h = embedding(x, 5, 4) -> positional(8)
                    output h
                    loss mse(h, y)
                }");
            Assert.Empty(fixedLength.EntryChecks.SizeLimits);
        }

        [Fact]
        public void Lstm_keeps_its_hidden_states_when_the_output_is_the_last_one()
        {
            var plan = Plan(ExampleModelTests.CheckExample("examples/TextLstm/fortune_lstm.model"));
            var lstm = plan.Forward.OfType<LstmKernel>().Single();
            Assert.Equal(BufferKind.Saved, lstm.HiddenStates.Kind);
            Assert.Equal("[B, T, 128]", lstm.HiddenStates.Shape.ToExpression());
            Assert.Equal("encoder", lstm.LastHidden!.Name);
            var backward = plan.Backward.OfType<LstmBackwardKernel>().Single();
            Assert.Null(backward.HiddenStatesGradient);
            Assert.Equal("d_encoder", backward.LastHiddenGradient!.Name);
        }

        [Fact]
        public void Concat_copies_each_input_into_its_columns_and_back()
        {
            var plan = Plan("model M {\n    input x: f32[B, 12]\n    label y: f32[B, 4]\n    a = x -> dense(6) -> reshape([B, 2, 3])\n    b = x -> dense(3) -> reshape([B, 1, 3])\n"
                + "    c = concat(a, b, a, axis=1) -> flatten\n    h = c -> dense(4)\n    output h\n    loss mse(h, y)\n}\n");
            var concat = plan.Forward.OfType<ConcatKernel>().Single();
            Assert.Equal("B", concat.Rows.ToExpression());
            Assert.Equal("15", concat.OutputWidth.ToExpression());
            Assert.Equal(["a:6@0", "b:3@6", "a:6@9"], concat.Parts.Select(p => $"{p.Input.Name}:{p.Width.ToExpression()}@{p.Offset.ToExpression()}"));
            var backward = plan.Backward.OfType<ConcatBackwardKernel>().Single();
            // a's gradient: assigned by its first part, added by its second.
            Assert.Equal(["d_a=0", "d_b=6", "d_a+=9"], backward.Parts.Select(p => $"{p.Gradient.Buffer.Name}{(p.Gradient.Accumulate ? "+=" : "=")}{p.Offset.ToExpression()}"));
        }
    }
}
