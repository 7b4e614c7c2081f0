using System.Linq;
using ModelDsl.Shapes;
using ModelDsl.Syntax;

namespace ModelDsl.Binding
{
    // input/label declarations: element type, dimensions (constants or symbolic), MDL0113 typo warnings.
    internal sealed partial class ModelBinder
    {
        private void BindInput(InputSyntax s, Scope scope)
        {
            if (s.Name is null || string.IsNullOrEmpty(s.Name.Text)) return;
            Value value = ErrorValue.Instance;
            var type = s.Type;
            bool ok = type?.DType is not null;
            DType dtype = DType.F32;
            if (type?.DType is not null && !DTypeNames.TryParse(type.DType.Text, out dtype))
            {
                Diagnostics.ReportUnknownDType(type.DType.Span, type.DType.Text);
                ok = false;
            }
            var dims = new Dim[type?.Dimensions?.Count ?? 0];
            for (int i = 0; i < dims.Length; i++)
            {
                var d = BindDimension(type!.Dimensions[i], scope);
                if (d is null) ok = false;
                else dims[i] = d;
            }
            if (ok)
            {
                var tensor = NewTensor(s.Name.Text, new Shape(dims), dtype, s.Span);
                (s.IsLabel ? _labels : _inputs).Add(tensor);
                value = new TensorRef(tensor, s.IsLabel);
            }
            else _failed = true;
            var kind = s.IsLabel ? SymbolKind.Label : SymbolKind.Input;
            if (!scope.TryDeclare(new Symbol(s.Name.Text, kind, value, s.Name.Span), out var existing))
            {
                Diagnostics.ReportDuplicateName(s.Name.Span, s.Name.Text, _file.Line(existing.Span));
            }
        }

        /// <summary>A dimension of an input type: a positive integer, config arithmetic, or symbolic.</summary>
        private Dim? BindDimension(ExpressionSyntax? expression, Scope scope)
        {
            if (expression is null) return null;
            DeclareSymbols(expression, scope);
            var value = BindExpression(expression, scope, new LayerNamer("dim", 0)).Value;
            switch (value)
            {
                case IntValue i when i.Integer >= 1:
                    return i.ToDim();
                case DimValue d:
                    return d.Dim;
                case ErrorValue:
                    return null;
                case IntValue i:
                    Diagnostics.ReportInvalidDimension(expression.Span, $"a dimension must be at least 1, but '{_file.Compact(expression.Span)}' is {i.Integer}");
                    return null;
                default:
                    Diagnostics.ReportInvalidDimension(expression.Span, $"a dimension must be a positive integer or a symbol like B, but '{_file.Compact(expression.Span)}' is {value.KindName}");
                    return null;
            }
        }

        /// <summary>
        /// Names in a dimension that are not constants become symbolic dimensions of the model. One edit away from a
        /// config constant (both names 3+ characters, so B, T and d do not collide) is probably a typo: MDL0113.
        /// </summary>
        private void DeclareSymbols(ExpressionSyntax expression, Scope scope)
        {
            switch (expression)
            {
                case NameSyntax n when n.Name is not null && !string.IsNullOrEmpty(n.Name.Text):
                    if (scope.Lookup(n.Name.Text) is not null) return;
                    string name = n.Name.Text;
                    scope.TryDeclare(new Symbol(name, SymbolKind.SymbolicDimension, new DimValue(Dim.Symbol(name)), n.Span), out _);
                    _symbolicDimensions.Add(name);
                    var constant = name.Length < 3 ? null : Suggest.Closest(name, _file.Constants.Declared.Select(c => c.Name).Where(c => c.Length >= 3), _file.Suggestions, maxDistance: 1);
                    if (constant is not null) Diagnostics.ReportSuspiciousSymbolicDimension(n.Span, name, constant);
                    return;
                case BinarySyntax b:
                    DeclareSymbols(b.Left, scope);
                    DeclareSymbols(b.Right, scope);
                    return;
                case NegateSyntax neg:
                    DeclareSymbols(neg.Operand, scope);
                    return;
            }
        }
    }
}
