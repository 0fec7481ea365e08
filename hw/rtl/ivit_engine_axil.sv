// AXI4-Lite control slave with the register map Vitis HLS gives the kernel
//   ivit_top(image, weights, logits, n_images) under ap_ctrl_hs:
//   0x00 AP_CTRL  bit0 ap_start (set by host, cleared when the core takes it), bit1 ap_done
//                 (clear on read), bit2 ap_idle, bit3 ap_ready (clear on read), bit7 auto_restart
//   0x04 GIE      bit0 global interrupt enable
//   0x08 IER      bit0 ap_done, bit1 ap_ready
//   0x0C ISR      bit0 ap_done, bit1 ap_ready (toggle on write)
//   0x10/0x14 image, 0x1C/0x20 weights, 0x28/0x2C logits (64-bit pointers), 0x34 n_images
// Registers beyond the Vitis map (read-only): 0x40/0x44 cycles of the last run,
// 0x48/0x4C of those, cycles spent writing the debug trace.
module ivit_engine_axil #(
    parameter int ADDR_W = 7
) (
    input  logic              clk,
    input  logic              rst,
    input  logic              awvalid,
    output logic              awready,
    input  logic [ADDR_W-1:0] awaddr,
    input  logic              wvalid,
    output logic              wready,
    input  logic [31:0]       wdata,
    input  logic [3:0]        wstrb,
    output logic              bvalid,
    input  logic              bready,
    output logic [1:0]        bresp,
    input  logic              arvalid,
    output logic              arready,
    input  logic [ADDR_W-1:0] araddr,
    output logic              rvalid,
    input  logic              rready,
    output logic [31:0]       rdata,
    output logic [1:0]        rresp,
    output logic              irq,
    // to the core
    output logic              ap_start,
    input  logic              core_take,     // core accepted ap_start (ap_ready)
    input  logic              core_done,     // one-cycle pulse at the end of a run
    input  logic              core_idle,
    output logic [63:0]       arg_image,
    output logic [63:0]       arg_weights,
    output logic [63:0]       arg_logits,
    output logic [31:0]       arg_n_images,
    input  logic [63:0]       stat_cycles,
    input  logic [63:0]       stat_trace_cycles
);
    logic start_r, done_r, ready_r, auto_r, gie, aw_hold, w_hold;
    logic [1:0] ier, isr;
    logic [ADDR_W-3:0] aw_q;    // word address
    logic [31:0] w_q;
    logic [3:0]  s_q;
    logic do_write, do_read;

    assign ap_start  = start_r;
    assign irq = gie && (isr != 2'b00);
    assign bresp = 2'b00;
    assign rresp = 2'b00;

    // Address and data may arrive in either order; the write happens once both are held.
    assign awready  = !aw_hold;
    assign wready   = !w_hold;
    assign do_write = aw_hold && w_hold && !bvalid;
    assign arready  = !rvalid;
    assign do_read  = arvalid && arready;

    // byte strobes as a bit mask
    logic [31:0] wmask;
    assign wmask = {{8{s_q[3]}}, {8{s_q[2]}}, {8{s_q[1]}}, {8{s_q[0]}}};

    always_ff @(posedge clk) begin
        if (rst) begin
            aw_hold <= 1'b0; w_hold <= 1'b0; bvalid <= 1'b0; rvalid <= 1'b0;
            start_r <= 1'b0; done_r <= 1'b0; ready_r <= 1'b0; auto_r <= 1'b0;
            gie <= 1'b0; ier <= 2'b00; isr <= 2'b00;
            arg_image <= '0; arg_weights <= '0; arg_logits <= '0; arg_n_images <= '0;
            rdata <= '0; aw_q <= '0; w_q <= '0; s_q <= '0;
        end else begin
            if (awvalid && awready) begin aw_hold <= 1'b1; aw_q <= awaddr[ADDR_W-1:2]; end
            if (wvalid && wready) begin w_hold <= 1'b1; w_q <= wdata; s_q <= wstrb; end
            if (bvalid && bready) bvalid <= 1'b0;
            if (rvalid && rready) rvalid <= 1'b0;

            // core handshakes
            if (core_take) begin
                start_r <= auto_r;
                ready_r <= 1'b1;
                if (ier[1]) isr[1] <= 1'b1;
            end
            if (core_done) begin
                done_r <= 1'b1;
                if (ier[0]) isr[0] <= 1'b1;
            end

            if (do_write) begin
                aw_hold <= 1'b0; w_hold <= 1'b0; bvalid <= 1'b1;
                case ({aw_q, 2'b00})
                    ADDR_W'('h00): begin
                        if (s_q[0] && w_q[0]) start_r <= 1'b1;
                        if (s_q[0]) auto_r <= w_q[7];
                    end
                    ADDR_W'('h04): if (s_q[0]) gie <= w_q[0];
                    ADDR_W'('h08): if (s_q[0]) ier <= w_q[1:0];
                    ADDR_W'('h0C): if (s_q[0]) isr <= isr ^ w_q[1:0];
                    ADDR_W'('h10): arg_image[31:0]    <= (arg_image[31:0] & ~wmask) | (w_q & wmask);
                    ADDR_W'('h14): arg_image[63:32]   <= (arg_image[63:32] & ~wmask) | (w_q & wmask);
                    ADDR_W'('h1C): arg_weights[31:0]  <= (arg_weights[31:0] & ~wmask) | (w_q & wmask);
                    ADDR_W'('h20): arg_weights[63:32] <= (arg_weights[63:32] & ~wmask) | (w_q & wmask);
                    ADDR_W'('h28): arg_logits[31:0]   <= (arg_logits[31:0] & ~wmask) | (w_q & wmask);
                    ADDR_W'('h2C): arg_logits[63:32]  <= (arg_logits[63:32] & ~wmask) | (w_q & wmask);
                    ADDR_W'('h34): arg_n_images       <= (arg_n_images & ~wmask) | (w_q & wmask);
                    default: ;
                endcase
            end

            if (do_read) begin
                rvalid <= 1'b1;
                case ({araddr[ADDR_W-1:2], 2'b00})
                    ADDR_W'('h00): begin
                        rdata <= {24'd0, auto_r, 3'd0, ready_r, core_idle, done_r, start_r};
                        done_r  <= core_done;   // clear on read (a done in this cycle stays)
                        ready_r <= core_take;
                    end
                    ADDR_W'('h04): rdata <= {31'd0, gie};
                    ADDR_W'('h08): rdata <= {30'd0, ier};
                    ADDR_W'('h0C): rdata <= {30'd0, isr};
                    ADDR_W'('h10): rdata <= arg_image[31:0];
                    ADDR_W'('h14): rdata <= arg_image[63:32];
                    ADDR_W'('h1C): rdata <= arg_weights[31:0];
                    ADDR_W'('h20): rdata <= arg_weights[63:32];
                    ADDR_W'('h28): rdata <= arg_logits[31:0];
                    ADDR_W'('h2C): rdata <= arg_logits[63:32];
                    ADDR_W'('h34): rdata <= arg_n_images;
                    ADDR_W'('h40): rdata <= stat_cycles[31:0];
                    ADDR_W'('h44): rdata <= stat_cycles[63:32];
                    ADDR_W'('h48): rdata <= stat_trace_cycles[31:0];
                    ADDR_W'('h4C): rdata <= stat_trace_cycles[63:32];
                    default: rdata <= '0;
                endcase
            end
        end
    end

    logic unused;
    assign unused = ^{awaddr[1:0], araddr[1:0]};
endmodule
