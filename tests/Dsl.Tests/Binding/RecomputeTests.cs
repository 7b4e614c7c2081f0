using System.Linq;
using ModelDsl.Dsl.Tests.Support;
using ModelDsl.IR;
using static ModelDsl.Dsl.Tests.Binding.TrainingControlTests;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary><c>recompute Block, ...</c>: how it parses and binds (the instances it selects), and its diagnostics (MDL0126, MDL0223).</summary>
    public class RecomputeTests
    {
        /// <summary>A model of two blocks: Inner used inside Outer, Outer three times by a repeat, then once more; <paramref name="statements"/> after the optimizer.</summary>
        internal static string Text(string statements, string extraBlock = "", string loss = "    loss mse(logits, y)\n") =>
            "block Inner(x, d) {\n    return x -> dense(d) -> tanh\n}\n"
            + "block Outer(x, d) {\n    a = x -> layer_norm -> Inner(d) -> dropout(0.1)\n    return x + a\n}\n"
            + extraBlock
            + "model M {\n    input x: f32[B, 8]\n    label y: f32[B, 4]\n    h = x -> repeat 3 Outer(8) -> Outer(8)\n    logits = h -> dense(4)\n    output logits\n"
            + loss + "    optimizer adam(lr=1e-3)\n" + statements + "}\n";

        [Fact]
        public void Without_a_statement_nothing_is_recomputed() => Assert.Empty(Check(Text("")).Recomputed);

        [Fact]
        public void Each_use_of_the_block_is_an_instance_with_its_own_ops_in_forward_order()
        {
            var text = Text("    recompute Outer\n");
            var graph = Check(text);
            Assert.Equal(new[] { "h.0.0", "h.0.1", "h.0.2", "h.1" }, graph.Recomputed.Select(r => r.Path));
            Assert.All(graph.Recomputed, r => Assert.Equal("Outer", r.Block));
            Assert.All(graph.Recomputed, r => Assert.Equal("Outer", text.Substring(r.Declaration.Start, r.Declaration.Length)));
            Assert.Equal("Outer(8)", text.Substring(graph.Recomputed[3].Use.Start, graph.Recomputed[3].Use.Length));
            // layer_norm, dense, tanh, dropout, add: the nested Inner is part of its Outer
            Assert.All(graph.Recomputed, r => Assert.Equal(new[] { OpKind.LayerNorm, OpKind.Dense, OpKind.Tanh, OpKind.Dropout, OpKind.Add }, r.Nodes.Select(n => n.Kind)));
            Assert.Equal(graph.Nodes.Take(20), graph.Recomputed.SelectMany(r => r.Nodes));
        }

        [Fact]
        public void A_block_inside_a_recomputed_one_is_part_of_it_and_alone_is_an_instance_of_its_own()
        {
            Assert.Equal(4, Check(Text("    recompute Outer, Inner\n")).Recomputed.Count);
            var inner = Check(Text("    recompute Inner\n")).Recomputed;
            Assert.Equal(new[] { "h.0.0.a.1", "h.0.1.a.1", "h.0.2.a.1", "h.1.a.1" }, inner.Select(r => r.Path));
            Assert.All(inner, r => Assert.Equal(new[] { OpKind.Dense, OpKind.Tanh }, r.Nodes.Select(n => n.Kind)));
        }

        [Fact]
        public void Recompute_is_not_reserved()
        {
            var graph = Check(Text("    recompute Outer\n").Replace("logits = h -> dense(4)", "recompute = h -> relu\n    logits = recompute -> dense(4)"));
            Assert.Equal(4, graph.Recomputed.Count);
        }

        [Fact]
        public void A_list_ending_in_a_comma_is_a_syntax_error_at_the_token_after_it()
        {
            var d = AnnotatedText.AssertDiagnostics(Text("    recompute Outer,\n").Replace("recompute Outer,\n}", "recompute Outer,\n⟦}⟧"), "MDL0001");
            Assert.Equal("unexpected '}'; expected block name", d[0].Message);
        }

        [Fact]
        public void MDL0126_a_name_that_is_not_a_block_says_what_it_is()
        {
            var d = AnnotatedText.AssertDiagnostics(Text("    recompute ⟦Outr⟧\n"), "MDL0126");
            Assert.Equal("'Outr' is not a block: recompute names a block the model uses; did you mean 'Outer'? (blocks: Inner, Outer)", d[0].Message);
            d = AnnotatedText.AssertDiagnostics(Text("    recompute Outer, ⟦dense⟧\n"), "MDL0126");
            Assert.Equal("'dense' is a layer, not a block: recompute names a block the model uses (blocks: Inner, Outer)", d[0].Message);
        }

        [Fact]
        public void MDL0126_a_block_the_model_does_not_use()
        {
            var d = AnnotatedText.AssertDiagnostics(Text("    recompute ⟦Spare⟧\n", "block Spare(x) {\n    return x -> relu\n}\n"), "MDL0126");
            Assert.Equal("block 'Spare' is not used by model 'M', so there is nothing to recompute; remove it from the recompute statement", d[0].Message);
        }

        [Fact]
        public void MDL0223_a_block_with_running_statistics_names_the_op_and_its_line()
        {
            string text = Text("    recompute ⟦Norm⟧\n", "block Norm(x) {\n    return x -> batch_norm -> relu\n}\n").Replace("h = x -> repeat 3 Outer(8) -> Outer(8)", "h = x -> repeat 2 Norm()");
            var d = AnnotatedText.AssertDiagnostics(text, "MDL0223");
            Assert.Equal("block 'Norm' cannot be recomputed: its batch_norm 'h.0.0' (line 9) updates its running statistics in every training forward pass, and the recomputation would update them twice", d[0].Message);
        }

        [Fact]
        public void MDL0223_a_model_without_a_loss_has_no_backward_pass_to_recompute_in()
        {
            AnnotatedText.AssertDiagnostics(Text("    recompute ⟦Outer⟧\n", loss: "").Replace("model M {", "model ⟦M⟧ {"), "MDL0202", "MDL0223");
        }

        [Fact]
        public void Recompute_twice_or_in_a_block_is_an_error_at_the_name_or_statement()
        {
            AnnotatedText.AssertDiagnostics(Text("    recompute Outer\n    recompute Inner, ⟦Outer⟧\n"), "MDL0204");
            var text = Text("    recompute Outer\n").Replace("    return x -> dense(d) -> tanh", "    ⟦recompute Outer⟧\n    return x -> dense(d) -> tanh");
            AnnotatedText.AssertDiagnostics(text, "MDL0210");
        }
    }
}
