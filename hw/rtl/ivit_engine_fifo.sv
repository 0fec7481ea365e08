// Small synchronous FIFO (first-word fall-through), DEPTH a power of two.
module ivit_engine_fifo #(
    parameter int W     = 32,
    parameter int DEPTH = 4,
    parameter int CW    = $clog2(DEPTH + 1)
) (
    input  logic         clk,
    input  logic         rst,
    input  logic         push,
    input  logic [W-1:0] din,
    input  logic         pop,
    output logic [W-1:0] dout,
    output logic         empty,
    output logic [CW-1:0] count
);
    localparam int PW = $clog2(DEPTH);
    logic [W-1:0] mem [DEPTH];
    logic [PW-1:0] rp, wp;

    assign empty = (count == 0);
    assign dout  = mem[rp];

    always_ff @(posedge clk) begin
        if (rst) begin
            rp <= '0; wp <= '0; count <= '0;
        end else begin
            if (push) begin mem[wp] <= din; wp <= wp + 1'b1; end
            if (pop) rp <= rp + 1'b1;
            count <= count + CW'(push) - CW'(pop);
        end
    end
endmodule
